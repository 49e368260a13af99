defmodule PulseKit.SourceContext do
  @moduledoc """
  Source lines around each in-app frame's line (`pre_context`, `context_line`,
  `post_context`, 5 lines each side), read from the frame's file when it is there.

  Files are read once and kept in an ETS table (at most #{500} files of at most 1 MB), so a
  repeated crash costs a lookup, not a read. A release usually ships no `.ex` sources: frames
  then simply have no context. Turn it off with `source_context: false`.
  """

  @table :pulsekit_source_files
  @max_files 500
  @max_file_bytes 1_000_000
  @lines_around 5

  @doc false
  def table_name, do: @table

  @doc "The exception map and stacktrace map with source context on their in-app frames."
  @spec add(map() | nil, map() | nil) :: {map() | nil, map() | nil}
  def add(exception, stacktrace) do
    exception =
      case exception do
        %{chain: chain} -> %{exception | chain: Enum.map(chain, &add_to_entry/1)}
        other -> other
      end

    {exception, add_to_stacktrace(stacktrace)}
  end

  defp add_to_entry(%{stacktrace: stacktrace} = entry),
    do: %{entry | stacktrace: add_to_stacktrace(stacktrace)}

  defp add_to_entry(entry), do: entry

  defp add_to_stacktrace(%{frames: frames} = stacktrace),
    do: %{stacktrace | frames: Enum.map(frames, &add_to_frame/1)}

  defp add_to_stacktrace(other), do: other

  defp add_to_frame(%{in_app: true, filename: filename, lineno: lineno} = frame)
       when lineno > 0 do
    case lines(filename) do
      lines when is_tuple(lines) and lineno <= tuple_size(lines) ->
        index = lineno - 1
        before = max(index - @lines_around, 0)
        last = min(index + @lines_around, tuple_size(lines) - 1)

        Map.merge(frame, %{
          pre_context: for(i <- before..(index - 1)//1, do: elem(lines, i)),
          context_line: elem(lines, index),
          post_context: for(i <- (index + 1)..last//1, do: elem(lines, i))
        })

      _ ->
        frame
    end
  end

  defp add_to_frame(frame), do: frame

  # A tuple of the file's lines, or nil when it cannot be read (cached either way).
  defp lines(filename) do
    case :ets.lookup(@table, filename) do
      [{_, lines}] -> lines
      [] -> read_and_cache(filename)
    end
  rescue
    ArgumentError -> nil
  end

  defp read_and_cache(filename) do
    lines =
      with {:ok, %File.Stat{size: size, type: :regular}} when size <= @max_file_bytes <-
             File.stat(filename),
           {:ok, text} <- File.read(filename),
           true <- String.valid?(text) do
        text |> String.split(["\r\n", "\n"]) |> List.to_tuple()
      else
        _ -> nil
      end

    if :ets.info(@table, :size) < @max_files, do: :ets.insert(@table, {filename, lines})
    lines
  end
end
