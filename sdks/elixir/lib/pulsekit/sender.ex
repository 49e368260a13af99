defmodule PulseKit.Sender do
  @moduledoc """
  The GenServer that owns the queue: it batches events, sends each batch from a task (so it
  keeps answering `flush/1` and taking events meanwhile), retries with backoff and jitter,
  honours `Retry-After`, and counts what it drops.

  Capturing processes build and encode their event themselves, reserve room in the queue
  through a shared `:atomics` pair (events, bytes) and then `cast` it here: capture never
  waits for this process, and the queue can never grow past its bounds, even while this
  process is busy.
  """

  use GenServer

  alias PulseKit.{Drops, Transport}

  @initial_backoff_ms 500
  @max_backoff_ms 30_000
  # The server accepts 5,000,000 decompressed bytes per request; keep a margin.
  @max_body_bytes 4_500_000
  @runtime_key {PulseKit, :runtime}

  @doc false
  def child_spec({config, drops}) do
    %{
      id: __MODULE__,
      start: {__MODULE__, :start_link, [{config, drops}]},
      shutdown: config.timeout_ms + 1_000
    }
  end

  def start_link({config, drops}),
    do: GenServer.start_link(__MODULE__, {config, drops}, name: __MODULE__)

  @doc "The runtime the capturing processes use, or nil when the SDK is not started."
  def runtime, do: :persistent_term.get(@runtime_key, nil)

  @doc false
  def clear_runtime do
    :persistent_term.erase(@runtime_key)
    :ok
  end

  @doc "Equal-jitter backoff: doubling from 500 ms up to 30 s, then 50–100 % of that."
  @spec backoff_ms(non_neg_integer(), float()) :: non_neg_integer()
  def backoff_ms(attempt, jitter) do
    ceiling = min(@max_backoff_ms, @initial_backoff_ms * Integer.pow(2, min(attempt, 16)))
    round(ceiling / 2 + ceiling / 2 * jitter)
  end

  @impl true
  def init({config, drops}) do
    # Trapped so that terminate/2 runs at shutdown and sends what is still queued.
    Process.flag(:trap_exit, true)
    # This process's own logs and crash report are about the SDK: never sent as events.
    :logger.update_process_metadata(%{pulsekit_internal: true})
    queue_room = :atomics.new(2, signed: true)

    :persistent_term.put(@runtime_key, %{
      config: config,
      drops: drops,
      room: queue_room,
      sender: self()
    })

    {:ok,
     %{
       config: config,
       drops: drops,
       room: queue_room,
       queue: :queue.new(),
       in_flight: nil,
       batch_timer: nil,
       waiters: [],
       lost_seen: Drops.lost(drops),
       refused: MapSet.new(),
       unauthorized?: false
     }}
  end

  @impl true
  def handle_cast({:event, room, id, json}, %{room: room} = state) do
    if state.unauthorized? do
      release(state, [{id, json}], :unauthorized)
      {:noreply, state}
    else
      {:noreply, state |> Map.update!(:queue, &:queue.in({id, json}, &1)) |> dispatch()}
    end
  end

  # An event reserved against a previous sender's queue (init/1 ran in between): not ours to send.
  def handle_cast({:event, _other_room, _id, _json}, state) do
    Drops.add(state.drops, :closed)
    {:noreply, state}
  end

  @impl true
  def handle_call({:flush, timeout_ms}, from, state) do
    timer = Process.send_after(self(), {:flush_timeout, from}, timeout_ms)
    state = %{state | waiters: [{from, timer} | state.waiters]}
    {:noreply, state |> dispatch() |> answer_waiters()}
  end

  # close/1: what a flush could not send is dropped now, not tried again at terminate/2.
  def handle_call(:discard, _from, state) do
    pending =
      if(state.in_flight, do: state.in_flight.batch, else: []) ++ :queue.to_list(state.queue)

    release(state, pending, :shutdown)
    {:reply, :ok, %{state | queue: :queue.new(), in_flight: nil}}
  end

  @impl true
  def handle_info(:batch_due, state), do: {:noreply, dispatch(%{state | batch_timer: nil}, true)}

  def handle_info(:retry, %{in_flight: %{task: nil} = flight} = state) do
    {:noreply, %{state | in_flight: %{flight | task: start_delivery(state.config, flight.batch)}}}
  end

  def handle_info({ref, outcome}, %{in_flight: %{task: %Task{ref: ref}}} = state) do
    Process.demonitor(ref, [:flush])
    {:noreply, state |> handle_outcome(outcome) |> dispatch() |> answer_waiters()}
  end

  def handle_info(
        {:DOWN, ref, :process, _pid, reason},
        %{in_flight: %{task: %Task{ref: ref}} = flight} = state
      ) do
    # A custom HTTP client crashed: retrying blindly could crash again forever.
    PulseKit.Log.error(
      "the HTTP client crashed (#{inspect(reason)}); #{length(flight.batch)} events dropped"
    )

    release(state, flight.batch, :transport_error)
    {:noreply, %{state | in_flight: nil} |> dispatch() |> answer_waiters()}
  end

  def handle_info({:flush_timeout, from}, state) do
    case List.keytake(state.waiters, from, 0) do
      {{^from, _timer}, waiters} ->
        GenServer.reply(from, false)
        {:noreply, %{state | waiters: waiters, lost_seen: Drops.lost(state.drops)}}

      nil ->
        {:noreply, state}
    end
  end

  def handle_info(_other, state), do: {:noreply, state}

  @impl true
  def terminate(_reason, state) do
    # Best effort at shutdown: one attempt for what is in flight and queued, within the timeout.
    pending =
      if(state.in_flight, do: state.in_flight.batch, else: []) ++ :queue.to_list(state.queue)

    if pending != [] and not state.unauthorized? do
      pending
      |> take_batches(state.config.max_batch_size)
      |> Enum.each(fn batch ->
        outcome = Transport.deliver(state.config, Enum.map(batch, &elem(&1, 1)))
        release(state, batch, if(outcome == :ok, do: nil, else: :shutdown))
      end)
    end

    :ok
  end

  defp take_batches([], _size), do: []

  defp take_batches(events, size) do
    {batch, rest} = split_batch(events, size)
    [batch | take_batches(rest, size)]
  end

  defp split_batch(events, size) do
    {batch, rest, _bytes} =
      Enum.reduce(events, {[], [], 0}, fn {_id, json} = event, {batch, rest, bytes} ->
        cond do
          rest != [] ->
            {batch, [event | rest], bytes}

          batch != [] and (length(batch) >= size or bytes + byte_size(json) > @max_body_bytes) ->
            {batch, [event], bytes}

          true ->
            {[event | batch], rest, bytes + byte_size(json) + 1}
        end
      end)

    {Enum.reverse(batch), Enum.reverse(rest)}
  end

  # Sends the next batch when nothing is in flight and the batch is full, a flush waits, or
  # the batch interval has passed; otherwise makes sure the interval timer runs.
  defp dispatch(state, due? \\ false)
  defp dispatch(%{in_flight: flight} = state, _due?) when flight != nil, do: state

  defp dispatch(state, due?) do
    queued = :queue.len(state.queue)

    cond do
      queued == 0 ->
        state

      due? or queued >= state.config.max_batch_size or state.waiters != [] or
          state.config.batch_interval_ms == 0 ->
        cancel(state.batch_timer)
        {batch, rest} = split_batch(:queue.to_list(state.queue), state.config.max_batch_size)
        task = start_delivery(state.config, batch)

        %{
          state
          | queue: :queue.from_list(rest),
            in_flight: %{batch: batch, attempt: 0, task: task},
            batch_timer: nil
        }

      state.batch_timer == nil ->
        %{
          state
          | batch_timer: Process.send_after(self(), :batch_due, state.config.batch_interval_ms)
        }

      true ->
        state
    end
  end

  defp start_delivery(config, batch) do
    encoded = Enum.map(batch, &elem(&1, 1))

    Task.Supervisor.async_nolink(PulseKit.TaskSupervisor, fn ->
      # A crashing HTTP client must not be reported through itself, over and over.
      :logger.update_process_metadata(%{pulsekit_internal: true})
      Transport.deliver(config, encoded)
    end)
  end

  defp handle_outcome(%{in_flight: flight} = state, :ok) do
    release(state, flight.batch, nil)
    %{state | in_flight: nil}
  end

  defp handle_outcome(%{in_flight: flight} = state, {:retry, retry_after_ms, reason}) do
    if flight.attempt >= state.config.max_retries do
      PulseKit.Log.warning(
        "gave up sending #{length(flight.batch)} events after #{flight.attempt + 1} attempts: #{reason}"
      )

      release(state, flight.batch, :retries_exhausted)
      %{state | in_flight: nil}
    else
      delay = retry_after_ms || backoff_ms(flight.attempt, :rand.uniform())
      PulseKit.Log.debug("#{reason}; retrying #{length(flight.batch)} events in #{delay} ms")
      Process.send_after(self(), :retry, delay)
      %{state | in_flight: %{flight | attempt: flight.attempt + 1, task: nil}}
    end
  end

  defp handle_outcome(%{in_flight: flight} = state, {:unauthorized, _status, reason}) do
    # Reported once: every later event would meet the same refusal.
    PulseKit.Log.error("#{reason}; PulseKit stops sending until it is configured again")
    release(state, flight.batch ++ :queue.to_list(state.queue), :unauthorized)
    %{state | in_flight: nil, queue: :queue.new(), unauthorized?: true}
  end

  defp handle_outcome(%{in_flight: flight} = state, {:rejected, status, reason}) do
    # Once per status: the same mistake in every event must not flood the host's log.
    unless MapSet.member?(state.refused, status) do
      PulseKit.Log.error("#{reason}; such batches are dropped, not retried")
    end

    release(state, flight.batch, :rejected)
    %{state | in_flight: nil, refused: MapSet.put(state.refused, status)}
  end

  # Gives the events' room in the queue back and, for a drop reason, counts them.
  defp release(state, events, drop_reason) do
    bytes = events |> Enum.map(&byte_size(elem(&1, 1))) |> Enum.sum()
    :atomics.sub(state.room, 1, length(events))
    :atomics.sub(state.room, 2, bytes)
    if drop_reason, do: Drops.add(state.drops, drop_reason, length(events))
  end

  defp answer_waiters(%{waiters: []} = state), do: state

  defp answer_waiters(state) do
    if state.in_flight == nil and :queue.is_empty(state.queue) do
      lost = Drops.lost(state.drops)

      Enum.each(state.waiters, fn {from, timer} ->
        cancel(timer)
        GenServer.reply(from, lost == state.lost_seen)
      end)

      %{state | waiters: [], lost_seen: lost}
    else
      state
    end
  end

  defp cancel(nil), do: :ok
  defp cancel(timer), do: Process.cancel_timer(timer)
end
