defmodule PulseKit.ConfigError do
  @moduledoc "Raised at start-up (or by `PulseKit.init/1`) when the configuration cannot work."
  defexception [:message]
end

defmodule PulseKit.Config do
  @moduledoc """
  The SDK's options, validated once: a mistake fails at start-up, never later.

  See the README's "Options" table; each default is listed below with its unit.
  """

  alias PulseKit.ConfigError

  @max_environment_chars 64
  @max_release_chars 200
  # The server refuses larger batches.
  @max_batch_events 1000

  defstruct endpoint: nil,
            api_key: nil,
            environment: nil,
            release: nil,
            # global tags, e.g. %{service: "billing"}
            tags: %{},
            # fraction of events kept, 0.0–1.0
            sample_rate: 1.0,
            # fn event -> event | nil, or {Module, :function}
            before_send: nil,
            # a module implementing PulseKit.HTTPClient
            http_client: PulseKit.HTTPClient.Httpc,
            # events waiting to be sent; when full, new events are dropped and counted
            max_queue_size: 1000,
            # bytes of encoded events waiting to be sent (10 MB)
            max_queue_bytes: 10_000_000,
            # events per request
            max_batch_size: 100,
            # longest wait for a batch to fill, in milliseconds
            batch_interval_ms: 1000,
            # retries of one batch after network errors, 5xx, 429/503
            max_retries: 8,
            # connect and response timeout of one request, in milliseconds
            timeout_ms: 10_000,
            # install the :logger handler that reports crashes and error logs
            logger_handler: true,
            # lowest Logger level reported as an event; nil reports crashes only
            capture_log_level: :error,
            # log events of these :logger domains are not reported (Cowboy logs the crashes
            # PulseKit.Plug already reports)
            excluded_log_domains: [:cowboy],
            # OTP applications whose modules are "in app"; nil = the Mix project's own apps
            in_app_otp_apps: nil,
            # add source lines around in-app frames, read from their files
            source_context: true,
            # extra :ssl options for https (e.g. cacertfile: "/path/ca.pem")
            ssl_options: []

  @type t :: %__MODULE__{}

  @option_names ~w(dsn endpoint api_key environment release tags sample_rate before_send http_client
                  max_queue_size max_queue_bytes max_batch_size batch_interval_ms max_retries timeout_ms
                  logger_handler capture_log_level excluded_log_domains in_app_otp_apps source_context
                  ssl_options)a
  # Read by PulseKit.JSON or the application itself, not by the client.
  @other_names [:json_library, :enabled]
  @log_levels [:emergency, :alert, :critical, :error, :warning, :warn, :notice, :info, :debug]

  @doc "Whether `opts` (or the environment) name a server at all: without one the SDK stays off."
  @spec configured?(keyword()) :: boolean()
  def configured?(opts) do
    Enum.any?([:dsn, :endpoint, :api_key], &(opts[&1] not in [nil, ""])) or
      Enum.any?(
        ["PULSEKIT_DSN", "PULSEKIT_ENDPOINT", "PULSEKIT_API_KEY"],
        &(System.get_env(&1) not in [nil, ""])
      )
  end

  @doc "Validates options (falling back to PULSEKIT_DSN, or PULSEKIT_ENDPOINT + PULSEKIT_API_KEY)."
  @spec build!(keyword()) :: t()
  def build!(opts) when is_list(opts) do
    Enum.each(Keyword.keys(opts), &check_name/1)
    opts = opts |> Keyword.drop(@other_names) |> resolve_endpoint()
    config = struct!(__MODULE__, opts)
    validate!(config)

    %{
      config
      | tags: Map.new(config.tags || %{}),
        in_app_otp_apps: config.in_app_otp_apps || default_in_app_apps()
    }
  end

  def build!(other),
    do: raise(ConfigError, "options must be a keyword list, got: #{inspect(other)}")

  defp check_name(name) when name in @option_names or name in @other_names, do: :ok

  defp check_name(name) do
    known = Enum.map(@option_names ++ @other_names, &Atom.to_string/1)
    closest = Enum.max_by(known, &String.jaro_distance(&1, to_string(name)))

    hint =
      if String.jaro_distance(closest, to_string(name)) > 0.8,
        do: "; did you mean #{closest}?",
        else: ""

    raise ConfigError, "unknown option #{inspect(name)}#{hint}"
  end

  @doc "Splits `http://KEY@host:port/[prefix/]PROJECT` into `{endpoint, api_key, project}`."
  @spec parse_dsn(String.t()) :: {String.t(), String.t(), String.t()}
  def parse_dsn(dsn) when is_binary(dsn) do
    uri = URI.parse(String.trim(dsn))

    cond do
      uri.scheme not in ["http", "https"] ->
        raise ConfigError, "dsn must start with http:// or https://, got #{inspect(dsn)}"

      uri.userinfo in [nil, ""] ->
        raise ConfigError, "dsn has no API key: expected http://KEY@host:port/PROJECT"

      uri.host in [nil, ""] ->
        raise ConfigError, "dsn has no host: #{inspect(dsn)}"

      true ->
        {prefix, project} = split_project(uri.path || "", dsn)
        host = if String.contains?(uri.host, ":"), do: "[#{uri.host}]", else: uri.host
        port = if uri.port == URI.default_port(uri.scheme), do: "", else: ":#{uri.port}"
        key = uri.userinfo |> String.split(":") |> hd() |> URI.decode()
        {"#{uri.scheme}://#{host}#{port}#{prefix}", key, project}
    end
  end

  def parse_dsn(other), do: raise(ConfigError, "dsn must be a string, got: #{inspect(other)}")

  defp split_project(path, dsn) do
    parts = path |> String.trim_trailing("/") |> String.split("/")
    project = List.last(parts)

    if project =~ ~r/^\d+$/ do
      {parts |> Enum.drop(-1) |> Enum.join("/"), project}
    else
      raise ConfigError, "dsn must end with the project number (an integer), got #{inspect(dsn)}"
    end
  end

  defp resolve_endpoint(opts) do
    has_explicit = opts[:endpoint] not in [nil, ""] or opts[:api_key] not in [nil, ""]
    dsn = opts[:dsn]

    if dsn not in [nil, ""] and has_explicit do
      raise ConfigError, "give either dsn or endpoint + api_key, not both"
    end

    opts = Keyword.delete(opts, :dsn)

    dsn =
      cond do
        dsn not in [nil, ""] -> dsn
        has_explicit -> nil
        true -> System.get_env("PULSEKIT_DSN")
      end

    opts =
      if dsn not in [nil, ""] do
        {endpoint, api_key, _project} = parse_dsn(dsn)
        Keyword.merge(opts, endpoint: endpoint, api_key: api_key)
      else
        opts
        |> Keyword.put_new_lazy(:endpoint, fn -> System.get_env("PULSEKIT_ENDPOINT") end)
        |> Keyword.put_new_lazy(:api_key, fn -> System.get_env("PULSEKIT_API_KEY") end)
      end

    Keyword.update(opts, :endpoint, nil, fn
      endpoint when is_binary(endpoint) -> String.trim_trailing(endpoint, "/")
      other -> other
    end)
  end

  defp validate!(config) do
    check_endpoint!(config.endpoint)

    unless is_binary(config.api_key) and config.api_key != "" and
             not (config.api_key =~ ~r/[\s\x00-\x1f\x7f]/) do
      raise ConfigError,
            "api_key must be a non-empty key without spaces (pk_…): set api_key, dsn, or PULSEKIT_API_KEY"
    end

    check_text!(:environment, config.environment, @max_environment_chars)

    if is_binary(config.environment) and String.contains?(config.environment, "/") do
      raise ConfigError, "environment must not contain \"/\""
    end

    check_text!(:release, config.release, @max_release_chars)

    unless is_map(config.tags),
      do: raise(ConfigError, "tags must be a map, e.g. %{service: \"billing\"}")

    unless is_number(config.sample_rate) and config.sample_rate >= 0 and config.sample_rate <= 1 do
      raise ConfigError,
            "sample_rate must be a number between 0.0 and 1.0, got #{inspect(config.sample_rate)}"
    end

    check_before_send!(config.before_send)
    check_module!(:http_client, config.http_client, :post, 4)
    check_count!(:max_queue_size, config.max_queue_size, 1, 10_000_000)
    check_count!(:max_queue_bytes, config.max_queue_bytes, 1024, 1_000_000_000)
    check_count!(:max_batch_size, config.max_batch_size, 1, @max_batch_events)
    check_count!(:batch_interval_ms, config.batch_interval_ms, 0, 3_600_000)
    check_count!(:max_retries, config.max_retries, 0, 100)
    check_count!(:timeout_ms, config.timeout_ms, 1, 3_600_000)

    for flag <- [:logger_handler, :source_context], not is_boolean(Map.fetch!(config, flag)) do
      raise ConfigError, "#{flag} must be true or false"
    end

    unless config.capture_log_level == nil or config.capture_log_level in @log_levels do
      raise ConfigError, "capture_log_level must be a Logger level such as :error, or nil"
    end

    unless is_list(config.excluded_log_domains) and
             Enum.all?(config.excluded_log_domains, &is_atom/1) do
      raise ConfigError, "excluded_log_domains must be a list of atoms, e.g. [:cowboy]"
    end

    unless config.in_app_otp_apps == nil or
             (is_list(config.in_app_otp_apps) and Enum.all?(config.in_app_otp_apps, &is_atom/1)) do
      raise ConfigError, "in_app_otp_apps must be a list of application names, e.g. [:my_app]"
    end

    unless Keyword.keyword?(config.ssl_options),
      do: raise(ConfigError, "ssl_options must be a keyword list")

    :ok
  end

  defp check_endpoint!(endpoint) do
    uri = if is_binary(endpoint), do: URI.parse(endpoint), else: %URI{}

    unless uri.scheme in ["http", "https"] and uri.host not in [nil, ""] and uri.query == nil and
             uri.fragment == nil do
      raise ConfigError,
            "endpoint must be a URL like http://127.0.0.1:4000 (set dsn, endpoint, or PULSEKIT_DSN), got: #{inspect(endpoint)}"
    end
  end

  defp check_text!(_name, nil, _max), do: :ok

  defp check_text!(name, value, max) do
    unless is_binary(value) and String.length(value) in 1..max and
             not (value =~ ~r/[\x00-\x1f\x7f]/) do
      raise ConfigError,
            "#{name} must be a string of 1–#{max} characters without control characters"
    end
  end

  defp check_before_send!(nil), do: :ok
  defp check_before_send!(fun) when is_function(fun, 1), do: :ok

  defp check_before_send!({module, function}) when is_atom(module) and is_atom(function),
    do: check_module!(:before_send, module, function, 1)

  defp check_before_send!(_),
    do: raise(ConfigError, "before_send must be a 1-arity function or {Module, :function}")

  defp check_module!(name, module, function, arity) do
    unless is_atom(module) and Code.ensure_loaded?(module) and
             function_exported?(module, function, arity) do
      raise ConfigError,
            "#{name} must be a module exporting #{function}/#{arity}, got: #{inspect(module)}"
    end
  end

  defp check_count!(name, value, low, high) do
    unless is_integer(value) and value >= low and value <= high do
      raise ConfigError,
            "#{name} must be an integer between #{low} and #{high}, got: #{inspect(value)}"
    end
  end

  @doc """
  The applications whose modules count as the host's own code when `in_app_otp_apps` is not
  set: the running Mix project's app (and an umbrella's apps); `[]` in a release, where
  frames are then in-app unless they belong to OTP, Elixir or PulseKit itself.
  """
  @spec default_in_app_apps() :: [atom()]
  def default_in_app_apps do
    # Through a variable: Mix is present under `mix run`/`mix test`, not in a release, and
    # in a plain `elixir script.exs` its module loads but no project is running.
    project = Mix.Project

    if Code.ensure_loaded?(project) and Process.whereis(Mix.ProjectStack) != nil and
         project.get() != nil do
      apps = Map.keys(project.apps_paths() || %{})
      Enum.reject([project.config()[:app] | apps], &is_nil/1)
    else
      []
    end
  catch
    _kind, _reason -> []
  end
end
