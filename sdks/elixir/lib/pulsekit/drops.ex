defmodule PulseKit.Drops do
  @moduledoc false
  # Counts of dropped events by reason, in a :counters array shared by the capturing
  # processes (queue_full, sample_rate, before_send…) and the sender (rejected, retries…).

  @reasons [
    :queue_full,
    :sample_rate,
    :before_send,
    :before_send_error,
    :capture_error,
    :rejected,
    :unauthorized,
    :retries_exhausted,
    :transport_error,
    :shutdown,
    :closed
  ]
  # Dropped on purpose by the host's own settings: they do not make flush/1 return false.
  @chosen [:sample_rate, :before_send]

  def new, do: :counters.new(length(@reasons), [:write_concurrency])

  def add(counters, reason, count \\ 1) when reason in @reasons,
    do: :counters.add(counters, index(reason), count)

  def to_map(counters) do
    for reason <- @reasons,
        (count = :counters.get(counters, index(reason))) > 0,
        into: %{},
        do: {reason, count}
  end

  @doc "Events lost (not dropped by the host's own sampling or before_send) so far."
  def lost(counters) do
    @reasons
    |> Enum.reject(&(&1 in @chosen))
    |> Enum.map(&:counters.get(counters, index(&1)))
    |> Enum.sum()
  end

  for {reason, position} <- Enum.with_index(@reasons, 1) do
    defp index(unquote(reason)), do: unquote(position)
  end
end
