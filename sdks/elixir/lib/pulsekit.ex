defmodule PulseKit do
  @moduledoc """
  Send errors, crashes and custom events to a PulseKit server.

  Configure it in `config/runtime.exs` and it starts with your application:

      config :pulsekit,
        dsn: System.get_env("PULSEKIT_DSN"),
        environment: "production",
        release: "shop@2.4.1"

  or call `init/1` at run time. Then:

      PulseKit.capture(%{type: "payment.success", level: :info, message: "Order 1234 paid",
                         metadata: %{amount_cents: 4999}, tags: %{provider: "stripe"}})
      PulseKit.capture_message("Inventory below 10 units", level: :warning)

      try do
        charge!(order)
      rescue
        exception -> PulseKit.capture_exception(exception, stacktrace: __STACKTRACE__)
      end

  Crashed processes and error logs are reported by `PulseKit.LoggerHandler`. Capturing
  builds the event in the calling process and hands it over with a cast: it never waits for
  the network. After start-up, no function here raises.
  """

  alias PulseKit.{Client, Config, Drops, LoggerHandler, Scope, Sender}

  @capture_fields [:type, :level, :message, :metadata, :tags, :user, :fingerprint]

  @doc """
  Starts (or restarts) the SDK with `opts` merged over `config :pulsekit`; raises
  `PulseKit.ConfigError` when they cannot work. A running sender is flushed and replaced.
  """
  @spec init(keyword()) :: :ok
  def init(opts \\ []) do
    opts = Keyword.merge(Application.get_all_env(:pulsekit), opts)
    config = Config.build!(opts)
    {:ok, _apps} = Application.ensure_all_started(:pulsekit)
    if Sender.runtime(), do: flush(1_000)

    if Keyword.get(opts, :enabled, true),
      do: PulseKit.Supervisor.replace_sender(config),
      else: PulseKit.Supervisor.stop_sender()

    if config.logger_handler,
      do: LoggerHandler.install(config.capture_log_level),
      else: LoggerHandler.uninstall()

    :ok
  end

  @doc """
  Captures a custom event: `%{type:, level:, message:, metadata:, tags:, user:, fingerprint:}`,
  all optional. Returns the event id, or nil when it was dropped (or the SDK is off).
  """
  @spec capture(map() | keyword()) :: String.t() | nil
  def capture(event) do
    fields =
      event
      |> Map.new(fn {key, value} -> {field_name(key), value} end)
      |> Map.take(@capture_fields)

    Client.capture_event(Sender.runtime(), fields)
  catch
    _kind, _reason -> nil
  end

  # String keys too ("type" => …), e.g. for an event that arrived as JSON.
  @field_names Map.new(@capture_fields, &{Atom.to_string(&1), &1})
  defp field_name(key) when is_binary(key), do: Map.get(@field_names, key, key)
  defp field_name(key), do: key

  @doc """
  Captures an exception (or an Erlang error term). Pass `stacktrace: __STACKTRACE__`, and
  `kind:` after `catch kind, reason` (`:throw` and `:exit` are reported as such); other
  options are event fields (`tags:`, `metadata:`, `level:`, `message:`, `user:`, `fingerprint:`).
  """
  @spec capture_exception(term(), keyword()) :: String.t() | nil
  def capture_exception(exception, opts \\ []) do
    fields = opts |> Map.new() |> Map.take(@capture_fields)
    kind = if opts[:kind] in [:exit, :throw], do: opts[:kind], else: :error
    fields = Map.merge(fields, %{exception: exception, stacktrace: opts[:stacktrace], kind: kind})
    Client.capture_event(Sender.runtime(), fields)
  catch
    _kind, _reason -> nil
  end

  @doc "Captures a message, at `level:` (default `:info`) with any other event field as an option."
  @spec capture_message(String.t(), keyword()) :: String.t() | nil
  def capture_message(message, opts \\ []) do
    fields = opts |> Map.new() |> Map.take(@capture_fields) |> Map.put(:message, message)
    Client.capture_event(Sender.runtime(), Map.put_new(fields, :level, :info))
  catch
    _kind, _reason -> nil
  end

  @doc """
  Sends everything queued now and waits up to `timeout_ms`. True when all of it was
  delivered and nothing was lost since the previous flush (queue full, refused, retries
  exhausted…; events dropped by `sample_rate` or `before_send` do not count).
  """
  @spec flush(non_neg_integer()) :: boolean()
  def flush(timeout_ms \\ 5_000) do
    case Sender.runtime() do
      nil -> false
      runtime -> GenServer.call(runtime.sender, {:flush, timeout_ms}, timeout_ms + 5_000)
    end
  catch
    :exit, _ -> false
  end

  @doc "Flushes for up to `timeout_ms`, then stops sending; what is left is dropped. Returns flush's answer."
  @spec close(non_neg_integer()) :: boolean()
  def close(timeout_ms \\ 5_000) do
    flushed = flush(timeout_ms)

    with %{sender: sender} <- Sender.runtime() do
      GenServer.call(sender, :discard)
    end

    LoggerHandler.uninstall()
    PulseKit.Supervisor.stop_sender()
    flushed
  catch
    :exit, _ -> false
  end

  @doc "Events dropped so far by the running sender, by reason, e.g. `%{queue_full: 3}`."
  @spec dropped_events() :: %{atom() => pos_integer()}
  def dropped_events do
    case Sender.runtime() do
      nil -> %{}
      runtime -> Drops.to_map(runtime.drops)
    end
  end

  @doc "Adds tags to the calling process's events (`%{route: \"/checkout\"}`); a nil value removes one."
  @spec set_tags(map() | keyword()) :: :ok
  defdelegate set_tags(tags), to: Scope

  @doc "Sets one tag on the calling process's events."
  @spec set_tag(atom() | String.t(), term()) :: :ok
  def set_tag(key, value), do: Scope.set_tags(%{key => value})

  @doc "Sets the user of the calling process's events: `%{id:, email:, username:, ip_address:}`."
  @spec set_user(map() | keyword() | nil) :: :ok
  defdelegate set_user(user), to: Scope

  @doc "Adds `value` under `key` to the metadata of the calling process's events."
  @spec set_context(atom() | String.t(), term()) :: :ok
  defdelegate set_context(key, value), to: Scope

  @doc "Runs `fun` with extra `tags:`, `user:` and `context:`, restoring the process's scope afterwards."
  @spec with_scope(map() | keyword(), (() -> result)) :: result when result: term()
  defdelegate with_scope(extra, fun), to: Scope

  @doc "Forgets the tags, user and context the calling process set."
  @spec clear_context() :: :ok
  def clear_context, do: Scope.clear()
end
