defmodule PulseKit.SourceContext do
  @moduledoc """
  Source lines around each in-app frame's line (`pre_context`, `context_line`,
  `post_context`, 5 lines each side), read from the frame's file when it is there.

  Files (of at most 1 MB) are read once and kept in an ETS table, line by line, so a repeated
  crash costs a few lookups, not a read. A release usually ships no `.ex` sources: frames
  then simply have no context. Turn it off with `source_context: false`.
  """

  @table :pulsekit_source_files
  # about 100 files of 2,000 lines; past it, files not yet read get no context
  @max_rows 200_000
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
    case line_count(filename) do
      count when is_integer(count) and lineno <= count ->
        Map.merge(frame, %{
          pre_context: lines(filename, max(lineno - @lines_around, 1), lineno - 1),
          context_line: line(filename, lineno),
          post_context: lines(filename, lineno + 1, min(lineno + @lines_around, count))
        })

      _ ->
        frame
    end
  end

  defp add_to_frame(frame), do: frame

  # One row per line, {{file, n}, text}, plus {file, line count or nil}: a lookup copies one
  # short line out of the table, never the whole file.
  defp line_count(filename) do
    case :ets.lookup(@table, filename) do
      [{_, count}] -> count
      [] -> read_and_cache(filename)
    end
  rescue
    ArgumentError -> nil
  end

  defp line(filename, n), do: :ets.lookup_element(@table, {filename, n}, 2)
  defp lines(filename, first, last), do: for(n <- first..last//1, do: line(filename, n))

  defp read_and_cache(filename) do
    with true <- :ets.info(@table, :size) < @max_rows,
         {:ok, %File.Stat{size: size, type: :regular}} when size <= @max_file_bytes <-
           File.stat(filename),
         {:ok, text} <- File.read(filename),
         true <- String.valid?(text) do
      lines = String.split(text, ["\r\n", "\n"])

      :ets.insert(
        @table,
        lines |> Enum.with_index(1) |> Enum.map(fn {text, n} -> {{filename, n}, text} end)
      )

      # The count last: a reader that sees it finds every line.
      :ets.insert(@table, {filename, length(lines)})
      length(lines)
    else
      _ ->
        :ets.insert(@table, {filename, nil})
        nil
    end
  end
end
