defmodule PulseKit.LiveServerTest do
  # Against a real PulseKit server (python -m pulsekit.cli serve): the quickstart file as
  # users paste it, and the example project, read back through GET /api/v1/events.
  use ExUnit.Case, async: false

  alias PulseKitTest.LiveServer

  @sdk_dir Path.expand("..", __DIR__)

  setup_all do
    server = LiveServer.start()
    on_exit(fn -> LiveServer.stop(server) end)
    {:ok, server: server}
  end

  @tag timeout: 120_000
  test "the quickstart, run unchanged but for the DSN, stores its three events", %{server: server} do
    key = LiveServer.new_key(server, "elixir quickstart")
    source = File.read!(Path.join(@sdk_dir, "quickstart/quickstart.exs"))
    assert String.contains?(source, ~s("__DSN__"))

    script =
      Path.join(
        System.tmp_dir!(),
        "pulsekit_quickstart_#{System.unique_integer([:positive])}.exs"
      )

    File.write!(script, String.replace(source, "__DSN__", key["dsn"]))
    ebin = :pulsekit |> :code.lib_dir() |> Path.join("ebin")

    {output, status} = System.cmd("elixir", ["-pa", ebin, script], stderr_to_stdout: true)
    File.rm(script)

    assert status == 0, output
    events = server |> LiveServer.events(key["key"]) |> Enum.sort_by(& &1["type"])
    assert [error, message, custom] = Enum.sort_by(events, &{&1["type"], &1["level"]})
    assert custom["type"] == "payment.success"
    assert custom["metadata"] == %{"amount_cents" => 4999, "currency" => "EUR"}
    assert custom["tags"] == %{"provider" => "stripe"}
    assert {custom["environment"], custom["release"]} == {"production", "shop@2.4.1"}
    assert {message["message"], message["level"]} == {"Inventory below 10 units", "warning"}

    assert Map.take(error["exception"], ["type", "value"]) == %{
             "type" => "ArgumentError",
             "value" => "quantity must be positive"
           }

    assert error["issue_id"] != nil
  end

  @tag timeout: 180_000
  test "the example project reports its event, exception, error log and GenServer crash", %{
    server: server
  } do
    key = LiveServer.new_key(server, "elixir example")
    example = Path.join(@sdk_dir, "examples/shop")
    env = [{"PULSEKIT_DSN", key["dsn"]}, {"MIX_ENV", "dev"}]

    {output, status} =
      System.cmd("mix", ["run", "-e", "Shop.main()"],
        cd: example,
        env: env,
        stderr_to_stdout: true
      )

    assert status == 0, output
    assert output =~ "flushed: true"
    events = LiveServer.events(server, key["key"])
    by_message = Map.new(events, &{&1["message"], &1})
    assert map_size(by_message) == 4, inspect(Map.keys(by_message))

    paid = by_message["Order 1234 paid"]

    assert {paid["type"], paid["metadata"], paid["tags"]} ==
             {"payment.success", %{"amount_cents" => 4998},
              %{"service" => "shop", "component" => "checkout"}}

    crash = by_message["process crashed: ArgumentError: quantity must be positive, got 0"]
    assert crash["tags"] == %{"service" => "shop", "component" => "checkout"}
    assert crash["metadata"]["crash"]["process"] == "Shop.Checkout"
    failing = List.last(crash["stacktrace"]["frames"])

    assert {failing["module"], failing["function"], failing["in_app"]} ==
             {"Shop.Checkout", "total_cents", true}

    assert Enum.any?(
             crash["stacktrace"]["frames"],
             &(&1["module"] == "gen_server" and not &1["in_app"])
           )

    assert crash["environment"] == "demo"

    handled = Enum.find(events, &(&1["tags"]["step"] == "parse"))
    assert handled["exception"]["type"] == "ArgumentError"

    assert Map.take(handled["user"], ["id", "email"]) == %{
             "id" => "42",
             "email" => "ada@example.com"
           }

    assert by_message["inventory service unreachable"]["level"] == "error"
  end
end
