defmodule PulseKit.LoggerHandler do
  @moduledoc """
  A `:logger` handler that reports crashed processes and error-level log events.

  Installed by the SDK when it starts (`logger_handler: true`, the default), as handler id
  `:pulsekit`. It reports:

  - a GenServer, `:gen_statem` or `:gen_event` that crashed (the report OTP logs when one
    terminates abnormally), with the exception, its stacktrace, and the crash reason, the
    process name and the last message it got in `metadata.crash`;
  - a Task that crashed (started with `Task.start/1`, `Task.async/1`, `Task.Supervisor`…);
  - any other event at or above `capture_log_level` (default `:error`), e.g. `Logger.error/1`,
    as a message; with `crash_reason` metadata (Elixir adds it to translated crash logs) the
    event carries that exception.

  Supervisor and SASL progress reports are skipped: the crash they describe is reported by
  the crashing process itself. `:logger` calls a handler in the process that logs, so a
  crash report is built inside the crashing process: the tags, user and context that
  process set (`PulseKit.set_tags/1`…) are on its crash event. The handler never raises into
  the logging process (`:logger` would remove a handler that does).
  """

  alias PulseKit.{Client, Stacktrace}

  @handler_id :pulsekit

  @doc "Adds (or re-configures) the handler; `level` is the lowest level passed to it."
  @spec install(Logger.level() | nil) :: :ok | {:error, term()}
  def install(capture_log_level) do
    level = handler_level(capture_log_level)

    if @handler_id in :logger.get_handler_ids() do
      :logger.set_handler_config(@handler_id, :level, level)
    else
      :logger.add_handler(@handler_id, __MODULE__, %{level: level, config: %{}})
    end
  end

  @doc "Removes the handler."
  @spec uninstall() :: :ok
  def uninstall do
    _ = :logger.remove_handler(@handler_id)
    :ok
  end

  defp handler_level(nil), do: :error
  defp handler_level(:warn), do: :warning

  defp handler_level(level) do
    if :logger.compare_levels(level, :error) == :gt, do: :error, else: level
  end

  # --- :logger callbacks ------------------------------------------------------------------

  @doc false
  def adding_handler(config), do: {:ok, config}

  @doc false
  def removing_handler(_config), do: :ok

  @doc false
  def log(%{meta: meta} = event, _config) do
    with false <- Map.get(meta, :pulsekit_internal, false),
         %{} = runtime <- Client.runtime(),
         false <- excluded_domain?(meta, runtime.config.excluded_log_domains) do
      report(event, runtime)
    end

    :ok
  catch
    # Never into the logging process; a broken event costs one report, not the handler.
    _kind, _reason -> :ok
  end

  defp report(%{msg: {:report, %{label: label} = report}} = event, runtime) do
    case crash_of(label, report) do
      {:crash, exception, stacktrace, details} ->
        capture_crash(exception, stacktrace, details, runtime)

      :skip ->
        :ok

      :not_a_crash ->
        report_other(event, runtime)
    end
  end

  defp report(%{meta: meta} = event, runtime) do
    if otp_report?(meta), do: :ok, else: report_other(event, runtime)
  end

  # Elixir's translated crash logs (Elixir 1.15+ translates before handlers see them) and
  # `Logger.error(..., crash_reason: {exception, __STACKTRACE__})` carry the crash as metadata.
  defp report_other(%{meta: %{crash_reason: {reason, stacktrace}}} = event, runtime)
       when is_list(stacktrace) do
    details = %{"log" => String.slice(message_of(event), 0, 2_000)}
    capture_crash(reason, stacktrace, details, runtime)
  end

  defp report_other(event, runtime), do: report_log(event, runtime)

  # OTP's crash reports, by label. Their reason is {exception, stacktrace} for a raise.
  defp crash_of({kind, :terminate}, report) when kind in [:gen_server, :gen_statem, :gen_event] do
    {exception, stacktrace} = split_reason(report[:reason])

    details = %{
      "process" => report[:name],
      "last_message" => report[:last_message] || report[:last_event]
    }

    {:crash, exception, stacktrace, details}
  end

  defp crash_of({Task.Supervisor, :terminating}, %{report: task}) do
    {exception, stacktrace} = split_reason(task[:reason])
    details = %{"process" => task[:name], "function" => task[:function], "args" => task[:args]}
    {:crash, exception, stacktrace, details}
  end

  defp crash_of({kind, _}, _report)
       when kind in [:supervisor, :proc_lib, :application_controller],
       do: :skip

  defp crash_of(:progress, _report), do: :skip
  defp crash_of(_label, _report), do: :not_a_crash

  defp excluded_domain?(%{domain: domain}, excluded) when is_list(domain),
    do: Enum.any?(domain, &(&1 in excluded))

  defp excluded_domain?(_meta, _excluded), do: false

  defp otp_report?(meta) do
    domain = Map.get(meta, :domain, [])
    :sasl in domain or match?(%{error_logger: %{type: :progress}}, meta)
  end

  defp split_reason({reason, stacktrace}) when is_list(stacktrace) do
    if stacktrace?(stacktrace), do: {reason, stacktrace}, else: {{reason, stacktrace}, []}
  end

  defp split_reason(reason), do: {reason, []}

  defp stacktrace?(list),
    do: list != [] and Enum.all?(list, &(is_tuple(&1) and tuple_size(&1) in [3, 4]))

  defp capture_crash(reason, stacktrace, details, runtime) do
    {exception, kind} = exception_of(reason, stacktrace)

    if PulseKit.CrashLog.first_report?(reason, stacktrace) do
      capture_crash_event(exception, kind, reason, stacktrace, details, runtime)
    end
  end

  defp capture_crash_event(exception, kind, reason, stacktrace, details, runtime) do
    Client.capture_event(runtime, %{
      exception: exception,
      stacktrace: stacktrace,
      level: "error",
      message: "process crashed: " <> crash_message(exception, kind),
      metadata: %{
        "crash" => details |> Map.put("reason", reason) |> describe_details()
      },
      tags: %{}
    })
  end

  # For people reading the event: Elixir's own notation, e.g. {:checkout, 250}, #PID<0.1.0>.
  defp describe_details(details) do
    for {key, value} <- details, value != nil, into: %{} do
      {key,
       if(is_binary(value), do: value, else: inspect(value, limit: 50, printable_limit: 2_000))}
    end
  end

  # A raise gives an exception; an exit (`exit(:oops)`, `{:stop, :oops, state}`) gives a term.
  defp exception_of(reason, stacktrace) do
    if is_exception(reason),
      do: {reason, :error},
      else: {Exception.normalize(:error, reason, stacktrace), :exit}
  end

  defp crash_message(exception, _kind) do
    "#{Stacktrace.type_name(exception)}: #{Exception.message(exception)}"
  rescue
    _ -> inspect(exception)
  end

  defp report_log(%{level: level, meta: meta} = event, runtime) do
    capture_level = runtime.config.capture_log_level

    if capture_level != nil and :logger.compare_levels(level, handler_level(capture_level)) != :lt do
      fields = %{level: level, message: message_of(event), tags: logger_tags(meta)}
      Client.capture_event(runtime, fields)
    end
  end

  defp message_of(%{msg: {:string, chardata}}), do: IO.chardata_to_string(chardata)

  defp message_of(%{msg: {:report, report}, meta: meta}) do
    case Map.get(meta, :report_cb) do
      callback when is_function(callback, 1) ->
        {format, args} = callback.(report)
        format |> :io_lib.format(args) |> IO.chardata_to_string()

      _ ->
        inspect(report)
    end
  end

  defp message_of(%{msg: {format, args}}),
    do: format |> :io_lib.format(args) |> IO.chardata_to_string()

  defp logger_tags(meta) do
    case Map.get(meta, :mfa) do
      {module, function, arity} ->
        %{"logger.mfa" => "#{Stacktrace.module_name(module)}.#{function}/#{arity}"}

      _ ->
        %{}
    end
  end
end
