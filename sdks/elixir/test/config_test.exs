defmodule PulseKit.ConfigTest do
  # Not async: some cases set PULSEKIT_* environment variables.
  use ExUnit.Case, async: false

  alias PulseKit.{Config, ConfigError}

  @env ["PULSEKIT_DSN", "PULSEKIT_ENDPOINT", "PULSEKIT_API_KEY"]

  setup do
    saved = Map.new(@env, &{&1, System.get_env(&1)})
    Enum.each(@env, &System.delete_env/1)

    on_exit(fn ->
      Enum.each(saved, fn {name, value} ->
        if value, do: System.put_env(name, value), else: System.delete_env(name)
      end)
    end)
  end

  test "a DSN gives the endpoint (prefix kept, project number dropped) and the key" do
    assert Config.parse_dsn("http://pk_abc@127.0.0.1:4000/3") ==
             {"http://127.0.0.1:4000", "pk_abc", "3"}

    assert Config.parse_dsn("https://pk_abc@example.com/tracker/12") ==
             {"https://example.com/tracker", "pk_abc", "12"}

    assert Config.build!(dsn: "http://pk_abc@127.0.0.1:4000/3") |> Map.take([:endpoint, :api_key]) ==
             %{endpoint: "http://127.0.0.1:4000", api_key: "pk_abc"}
  end

  test "the environment is read when no server is configured" do
    System.put_env("PULSEKIT_DSN", "http://pk_env@127.0.0.1:4001/1")
    assert Config.configured?([])
    assert Config.build!([]).api_key == "pk_env"

    System.delete_env("PULSEKIT_DSN")
    System.put_env("PULSEKIT_ENDPOINT", "http://127.0.0.1:4002/")
    System.put_env("PULSEKIT_API_KEY", "pk_two")

    assert Config.build!([]) |> Map.take([:endpoint, :api_key]) == %{
             endpoint: "http://127.0.0.1:4002",
             api_key: "pk_two"
           }
  end

  test "with nothing configured the SDK stays off instead of failing" do
    refute Config.configured?([])
    refute Config.configured?(environment: "dev")
  end

  for {opts, message} <- [
        {[dsn: "http://127.0.0.1:4000/1"], "dsn has no API key"},
        {[dsn: "http://pk@127.0.0.1:4000/app"], "project number"},
        {[dsn: "ftp://pk@h/1"], "http:// or https://"},
        {[dsn: "http://pk@h/1", api_key: "pk"], "either dsn or endpoint"},
        {[endpoint: "127.0.0.1:4000", api_key: "pk"], "endpoint must be a URL"},
        {[endpoint: "http://h:4000"], "api_key must be"},
        {[dsn: "http://pk@h/1", environment: "a/b"], "environment must not contain"},
        {[dsn: "http://pk@h/1", sample_rate: 2], "sample_rate"},
        {[dsn: "http://pk@h/1", max_batch_size: 5000],
         "max_batch_size must be an integer between 1 and 1000"},
        {[dsn: "http://pk@h/1", http_client: NoSuchModule],
         "http_client must be a module exporting post/4"},
        {[dsn: "http://pk@h/1", before_send: &Enum.map/2], "before_send must be"},
        {[dsn: "http://pk@h/1", enviroment: "x"],
         "unknown option :enviroment; did you mean environment?"}
      ] do
    test "refuses #{inspect(opts)} naming the problem" do
      error = assert_raise ConfigError, fn -> Config.build!(unquote(Macro.escape(opts))) end
      assert error.message =~ unquote(message)
    end
  end

  test "an invalid `config :pulsekit` fails the application's start, naming the option" do
    Application.put_env(:pulsekit, :api_key, "pk_without_endpoint")

    try do
      error = assert_raise ConfigError, fn -> PulseKit.Application.start(:normal, []) end
      assert error.message =~ "endpoint must be a URL"
    after
      Application.delete_env(:pulsekit, :api_key)
    end
  end

  test "every struct field is an accepted option" do
    fields = %Config{} |> Map.from_struct() |> Map.keys()

    config =
      Config.build!(
        [dsn: "http://pk@h/1"] ++
          Enum.map(fields -- [:endpoint, :api_key], &{&1, Map.fetch!(%Config{}, &1)})
      )

    assert config.api_key == "pk"
  end

  test "in-app applications default to the running Mix project's" do
    assert Config.build!(dsn: "http://pk@h/1").in_app_otp_apps == [:pulsekit]

    assert Config.build!(dsn: "http://pk@h/1", in_app_otp_apps: [:shop]).in_app_otp_apps == [
             :shop
           ]
  end
end
