defmodule PulseKit.CrashLog do
  @moduledoc false
  # One crash, one event. When a Task raises, the Task logs its crash, and a GenServer linked
  # to it that dies from the same exit logs `{exception, stacktrace}` again; the same pair seen
  # within @window_ms is reported once. A small ETS table, owned by PulseKit.Supervisor.

  @table :pulsekit_recent_crashes
  @window_ms 5_000
  @max_entries 1_000

  def table_name, do: @table

  @doc "True the first time this {reason, stacktrace} is seen within the window."
  def first_report?(reason, stacktrace) do
    key = :erlang.phash2({reason, stacktrace})
    now = System.monotonic_time(:millisecond)

    case :ets.lookup(@table, key) do
      [{^key, seen_at}] when now - seen_at < @window_ms ->
        false

      _ ->
        if :ets.info(@table, :size) >= @max_entries, do: prune(now)
        :ets.insert(@table, {key, now})
        true
    end
  rescue
    # No table (the SDK is stopping): report rather than lose the crash.
    ArgumentError -> true
  end

  defp prune(now) do
    :ets.select_delete(@table, [{{:_, :"$1"}, [{:<, :"$1", now - @window_ms}], [true]}])
    if :ets.info(@table, :size) >= @max_entries, do: :ets.delete_all_objects(@table)
  end
end
