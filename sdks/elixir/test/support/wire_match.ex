defmodule PulseKitTest.WireMatch do
  @moduledoc """
  The conformance comparison rules (sdks/conformance/README.md, wire_match.py) in Elixir:
  `ignore` paths must be present and are not compared, `optional` paths may be absent,
  `tail_match` arrays must end with the expected elements (in order, the last one last),
  each actual element reduced to the expected keys.
  """

  @doc "`{expected, actual}` reduced per the vector's rules, ready for `assert actual == expected`."
  def comparable(vector, body) do
    expected = vector["expected_wire"]

    actual =
      Enum.reduce(vector["tail_match"] || [], body, fn path, acc ->
        tail_project(acc, expected, parse(path))
      end)

    Enum.reduce(
      (vector["ignore"] || []) ++ (vector["optional"] || []),
      {expected, actual},
      fn path, {e, a} ->
        {delete(e, parse(path)), delete(a, parse(path))}
      end
    )
  end

  @doc "Paths of `ignore` that the body lacks (they must be present)."
  def missing(vector, body) do
    for path <- vector["ignore"] || [],
        not present?(body, vector["expected_wire"], parse(path)),
        do: path
  end

  defp parse(path) do
    ~r/([^.\[\]]+)|\[\*\]/
    |> Regex.scan(path)
    |> Enum.map(fn
      [_, key] -> key
      [_] -> "*"
    end)
  end

  defp delete(list, ["*" | rest]) when is_list(list), do: Enum.map(list, &delete(&1, rest))
  defp delete(map, [key]) when is_map(map), do: Map.delete(map, key)

  defp delete(map, [key | rest]) when is_map(map) and is_map_key(map, key),
    do: Map.update!(map, key, &delete(&1, rest))

  defp delete(other, _path), do: other

  defp present?(actual, expected, ["*" | rest]) when is_list(expected) do
    is_list(actual) and length(actual) >= length(expected) and
      Enum.all?(Enum.zip(actual, expected), fn {a, e} -> present?(a, e, rest) end)
  end

  defp present?(actual, expected, [key | rest])
       when is_map(expected) and is_map_key(expected, key) do
    is_map(actual) and Map.has_key?(actual, key) and
      (rest == [] or present?(actual[key], expected[key], rest))
  end

  defp present?(_actual, _expected, _path), do: true

  defp tail_project(actual, expected, ["*" | rest]) when is_list(actual) and is_list(expected) do
    Enum.zip_with(
      actual,
      expected ++ List.duplicate(nil, max(length(actual) - length(expected), 0)),
      fn a, e ->
        if e == nil, do: a, else: tail_project(a, e, rest)
      end
    )
  end

  defp tail_project(actual, expected, [key]) when is_map(actual) and is_map(expected) do
    with %{^key => actual_list} when is_list(actual_list) <- actual,
         %{^key => expected_list} when is_list(expected_list) <- expected do
      Map.put(actual, key, match_tail(actual_list, expected_list))
    else
      _ -> actual
    end
  end

  defp tail_project(actual, expected, [key | rest]) when is_map(actual) and is_map(expected) do
    if Map.has_key?(actual, key) and Map.has_key?(expected, key),
      do: Map.update!(actual, key, &tail_project(&1, expected[key], rest)),
      else: actual
  end

  defp tail_project(actual, _expected, _path), do: actual

  # Backwards from the last element, which must match the last expected one.
  defp match_tail(actual, expected) do
    do_match(Enum.reverse(actual), Enum.reverse(expected), [], true) || actual
  end

  defp do_match(_actual, [], matched, _first?), do: matched
  defp do_match([], _wanted, _matched, _first?), do: nil

  defp do_match([item | rest], [wanted | more] = all, matched, first?) do
    cond do
      contains?(item, wanted) ->
        do_match(rest, more, [Map.take(item, Map.keys(wanted)) | matched], false)

      first? ->
        nil

      true ->
        do_match(rest, all, matched, false)
    end
  end

  defp contains?(item, wanted) when is_map(item) and is_map(wanted),
    do: Enum.all?(wanted, fn {key, value} -> Map.get(item, key, :missing) == value end)

  defp contains?(item, wanted), do: item == wanted
end
