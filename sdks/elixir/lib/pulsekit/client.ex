defmodule PulseKit.Client do
  @moduledoc false
  # Turns a capture call into an encoded event, in the calling process, and hands it to the
  # sender with a cast. Everything here is rescued: after start-up the SDK never raises into
  # the host application.

  alias PulseKit.{Drops, Event, Scope, Sender, SourceContext, Stacktrace}

  defdelegate runtime, to: Sender

  @doc "Builds, samples, filters, encodes and queues one event; its id, or nil when dropped."
  @spec capture_event(map() | nil, map()) :: String.t() | nil
  def capture_event(nil, _fields), do: nil

  def capture_event(runtime, fields) do
    config = runtime.config

    if config.sample_rate < 1.0 and :rand.uniform() > config.sample_rate do
      Drops.add(runtime.drops, :sample_rate)
      nil
    else
      fields |> build(config, Scope.current()) |> before_send(runtime) |> enqueue(runtime)
    end
  catch
    kind, reason ->
      PulseKit.Log.error(
        "could not capture an event: " <> Exception.format(kind, reason, __STACKTRACE__)
      )

      Drops.add(runtime.drops, :capture_error)
      nil
  end

  defp build(fields, config, scope) do
    {exception, stacktrace} =
      case fields[:exception] do
        nil ->
          {nil, nil}

        exception ->
          apps = config.in_app_otp_apps

          Stacktrace.exception_to_wire(
            exception,
            fields[:stacktrace],
            apps,
            fields[:kind] || :error
          )
      end

    {exception, stacktrace} =
      if config.source_context,
        do: SourceContext.add(exception, stacktrace),
        else: {exception, stacktrace}

    # Context is metadata shared by many events: the call's own metadata wins on a clash.
    metadata =
      case {scope.context, fields[:metadata]} do
        {context, nil} when context == %{} ->
          nil

        {context, nil} ->
          context

        {context, own} when is_map(own) or (is_list(own) and own != []) ->
          if is_map(own) or Keyword.keyword?(own),
            do: Map.merge(context, Map.new(own, fn {k, v} -> {to_string(k), v} end)),
            else: Map.put(context, "value", own)

        {context, own} ->
          Map.put(context, "value", own)
      end

    %{
      id: Event.uuid4(),
      type: fields[:type],
      level: fields[:level],
      message: fields[:message] || (exception && (exception.value || exception.type)),
      exception: exception,
      stacktrace: stacktrace,
      environment: config.environment,
      release: config.release,
      tags:
        config.tags
        |> Map.new(fn {k, v} -> {to_string(k), v} end)
        |> Map.merge(scope.tags)
        |> Map.merge(string_keys(fields[:tags])),
      user: fields[:user] || scope.user,
      metadata: metadata,
      fingerprint: fields[:fingerprint],
      timestamp: Event.now_rfc3339()
    }
    |> Event.clean()
  end

  defp string_keys(nil), do: %{}
  defp string_keys(map), do: Map.new(map, fn {key, value} -> {to_string(key), value} end)

  defp before_send(event, %{config: %{before_send: nil}}), do: event

  defp before_send(event, runtime) do
    result =
      try do
        case runtime.config.before_send do
          {module, function} -> apply(module, function, [event])
          fun -> fun.(event)
        end
      catch
        kind, reason ->
          # Dropped, not sent unedited: before_send is often where private data is scrubbed.
          PulseKit.Log.error(
            "before_send failed (#{Exception.format_banner(kind, reason)}); the event was dropped"
          )

          :error
      end

    case result do
      :error ->
        {:drop, :before_send_error}

      edited when edited in [nil, false] ->
        {:drop, :before_send}

      %{} = edited ->
        edited |> Map.take(Event.fields()) |> Map.put_new(:id, event.id) |> Event.clean()

      other ->
        PulseKit.Log.error(
          "before_send returned #{inspect(other)}, not a map or nil; the event was dropped"
        )

        {:drop, :before_send_error}
    end
  end

  defp enqueue({:drop, reason}, runtime) do
    Drops.add(runtime.drops, reason)
    nil
  end

  defp enqueue(event, runtime) do
    json = PulseKit.JSON.encode!(event)
    size = byte_size(json)
    config = runtime.config
    count = :atomics.add_get(runtime.room, 1, 1)
    bytes = :atomics.add_get(runtime.room, 2, size)

    if count > config.max_queue_size or bytes > config.max_queue_bytes do
      # Dropping the newest keeps the oldest, which are nearest the first failure.
      :atomics.sub(runtime.room, 1, 1)
      :atomics.sub(runtime.room, 2, size)
      Drops.add(runtime.drops, :queue_full)
      nil
    else
      GenServer.cast(runtime.sender, {:event, runtime.room, event.id, json})
      event.id
    end
  end
end
