defmodule PulseKit.Event do
  @moduledoc """
  The event's wire form (docs/protocol.md), kept within the server's limits.

  The server refuses a whole batch when one event breaks a rule, so every event is made
  valid here, in the capturing process, rather than risking the events it travels with.
  Any Elixir term is accepted in metadata: structs, tuples, pids and the like are turned
  into JSON (`json_safe/1`).
  """

  @levels ~w(debug info warning error fatal)
  @level_aliases %{
    "warn" => "warning",
    "err" => "error",
    "critical" => "fatal",
    "emergency" => "fatal",
    "alert" => "fatal",
    "notice" => "info"
  }
  @user_fields ~w(id email username ip_address)
  @fields [
            :id,
            :type,
            :level,
            :message,
            :exception,
            :stacktrace,
            :environment,
            :release,
            :tags,
            :user
          ] ++
            [:metadata, :fingerprint, :timestamp]

  @max_type_chars 100
  @max_message_chars 8192
  @max_metadata_bytes 64 * 1024
  # The metadata object is level 1; a value below level 10 is refused by the server.
  @max_metadata_depth 10
  @max_tags 50
  @max_tag_key_chars 64
  @max_tag_value_chars 200
  @max_user_field_chars 200
  @max_fingerprint_parts 10
  @max_fingerprint_part_chars 200
  @max_exception_type_chars 256
  @max_chain 10
  @max_frames 250
  @max_context_lines 10
  @frame_text_limits %{
    filename: 1024,
    abs_path: 1024,
    function: 256,
    module: 256,
    context_line: 1024
  }

  @doc "The protocol fields of an event."
  def fields, do: @fields

  @doc "The protocol's name for a level (`:warn`, `\"WARN\"` → `\"warning\"`), or nil."
  @spec normalize_level(term()) :: String.t() | nil
  def normalize_level(level) when is_atom(level) and level not in [nil, true, false],
    do: normalize_level(Atom.to_string(level))

  def normalize_level(level) when is_binary(level) do
    name = level |> String.trim() |> String.downcase()
    name = Map.get(@level_aliases, name, name)
    if name in @levels, do: name
  end

  def normalize_level(_), do: nil

  @doc "A random (version 4) UUID in canonical form."
  @spec uuid4() :: String.t()
  def uuid4 do
    <<a::48, _::4, b::12, _::2, c::62>> = :crypto.strong_rand_bytes(16)
    hex = Base.encode16(<<a::48, 4::4, b::12, 2::2, c::62>>, case: :lower)
    <<p1::binary-8, p2::binary-4, p3::binary-4, p4::binary-4, p5::binary-12>> = hex
    Enum.join([p1, p2, p3, p4, p5], "-")
  end

  @doc "The current UTC time in RFC 3339 with milliseconds, e.g. `2026-11-26T07:00:00.123Z`."
  @spec now_rfc3339() :: String.t()
  def now_rfc3339,
    do: DateTime.utc_now() |> DateTime.truncate(:millisecond) |> DateTime.to_iso8601()

  @doc """
  A copy of `term` made of JSON terms only (maps with string keys, lists, strings, numbers,
  booleans, nil).

  Atoms become strings, structs that describe a time become ISO 8601, other structs become
  maps of their fields, tuples become lists, keyword-like values stay lists of pairs, invalid
  UTF-8 and pids, references, functions and ports become their `inspect/1` text. A container
  deeper than `max_depth` levels becomes its `inspect/1` text too.
  """
  @spec json_safe(term(), pos_integer()) :: term()
  def json_safe(term, max_depth \\ @max_metadata_depth - 1), do: safe(term, 0, max_depth)

  defp safe(term, _depth, _max) when is_nil(term) or is_boolean(term) or is_number(term), do: term
  defp safe(term, _depth, _max) when is_atom(term), do: Atom.to_string(term)

  defp safe(term, _depth, _max) when is_binary(term),
    do: if(String.valid?(term), do: term, else: inspect(term))

  defp safe(%module{} = time, _depth, _max) when module in [DateTime, NaiveDateTime, Date, Time],
    do: module.to_iso8601(time)

  defp safe(term, depth, max)
       when depth >= max and (is_map(term) or is_list(term) or is_tuple(term)),
       do: inspect(term, limit: 50, printable_limit: 1024)

  defp safe(%{__struct__: _} = struct, depth, max),
    do: struct |> Map.from_struct() |> safe(depth, max)

  defp safe(map, depth, max) when is_map(map),
    do: Map.new(map, fn {key, value} -> {key_text(key), safe(value, depth + 1, max)} end)

  defp safe(list, depth, max) when is_list(list) do
    if proper_list?(list), do: Enum.map(list, &safe(&1, depth + 1, max)), else: inspect(list)
  end

  defp safe(tuple, depth, max) when is_tuple(tuple),
    do: tuple |> Tuple.to_list() |> safe(depth, max)

  defp safe(other, _depth, _max), do: inspect(other)

  defp proper_list?([]), do: true
  defp proper_list?([_ | rest]), do: proper_list?(rest)
  defp proper_list?(_improper), do: false

  defp key_text(key) when is_binary(key), do: if(String.valid?(key), do: key, else: inspect(key))
  defp key_text(key) when is_atom(key), do: Atom.to_string(key)
  defp key_text(key), do: inspect(key)

  @doc "Tags as string → string within the protocol's limits; nil values are left out."
  @spec clean_tags(term()) :: map()
  def clean_tags(tags) when is_map(tags) or is_list(tags) do
    tags
    |> Enum.flat_map(fn
      {_key, nil} -> []
      {key, value} -> [{clean_name(key_text(key), @max_tag_key_chars), tag_value(value)}]
      _ -> []
    end)
    |> Enum.reject(fn {key, _} -> key == "" end)
    |> Enum.take(@max_tags)
    |> Map.new()
  end

  def clean_tags(_), do: %{}

  @doc "A type or tag key in the protocol's character set: other characters become `_`."
  @spec clean_name(String.t(), pos_integer()) :: String.t()
  def clean_name(text, max_chars),
    do: text |> String.replace(~r/[^A-Za-z0-9_.:\-]/u, "_") |> truncate(max_chars)

  defp tag_value(value) when is_binary(value), do: clean_text(safe(value, 0, 1))
  defp tag_value(value) when is_float(value), do: :erlang.float_to_binary(value, [:short])
  defp tag_value(value) when is_atom(value) or is_integer(value), do: to_string(value)
  defp tag_value(value), do: clean_text(inspect(value))

  defp clean_text(text),
    do: text |> String.replace(~r/[\x00-\x1f\x7f]/, " ") |> truncate(@max_tag_value_chars)

  @doc "Metadata as a JSON object of at most 64 KiB; a larger one becomes a note of its size."
  @spec clean_metadata(term()) :: map() | nil
  def clean_metadata(nil), do: nil

  def clean_metadata(metadata) do
    safe = if is_map(metadata), do: json_safe(metadata), else: %{"value" => json_safe(metadata)}
    size = byte_size(PulseKit.JSON.encode!(safe))

    if size > @max_metadata_bytes do
      PulseKit.Log.warning(
        "metadata of #{size} bytes exceeds #{@max_metadata_bytes} and was dropped"
      )

      %{"pulsekit_dropped_metadata_bytes" => size}
    else
      safe
    end
  end

  defp clean_user(user) when is_map(user) or is_list(user) do
    user = Map.new(user, fn {key, value} -> {to_string(key), value} end)

    cleaned =
      for field <- @user_fields, user[field] not in [nil, ""], into: %{} do
        {field, user[field] |> to_text() |> truncate(@max_user_field_chars)}
      end

    if cleaned == %{}, do: nil, else: cleaned
  end

  defp clean_user(_), do: nil

  defp clean_fingerprint(parts) when is_list(parts) and parts != [] do
    parts
    |> Enum.take(@max_fingerprint_parts)
    |> Enum.map(&(&1 |> to_text() |> truncate(@max_fingerprint_part_chars)))
  end

  defp clean_fingerprint(_), do: nil

  defp to_text(value) when is_binary(value), do: safe(value, 0, 1)
  defp to_text(value) when is_atom(value) or is_number(value), do: to_string(value)
  defp to_text(value), do: inspect(value)

  @doc "Keeps the 250 frames nearest the failure and only valid frame fields."
  @spec clean_stacktrace(term()) :: map() | nil
  def clean_stacktrace(%{frames: frames}) when is_list(frames),
    do: %{
      frames:
        frames |> Enum.take(-@max_frames) |> Enum.filter(&is_map/1) |> Enum.map(&clean_frame/1)
    }

  def clean_stacktrace(_), do: nil

  defp clean_frame(frame) do
    texts =
      for {key, limit} <- @frame_text_limits,
          is_binary(frame[key]),
          into: %{},
          do: {key, truncate(frame[key], limit)}

    numbers =
      for key <- [:lineno, :colno],
          is_integer(frame[key]) and frame[key] >= 0,
          into: %{},
          do: {key, frame[key]}

    flags = if is_boolean(frame[:in_app]), do: %{in_app: frame[:in_app]}, else: %{}

    # The lines nearest the failing line: the last ones before it, the first ones after it.
    context =
      for {key, keep} <- [pre_context: -@max_context_lines, post_context: @max_context_lines],
          is_list(frame[key]),
          into: %{} do
        lines = frame[key] |> Enum.filter(&is_binary/1) |> Enum.take(keep)
        {key, Enum.map(lines, &truncate(&1, @frame_text_limits.context_line))}
      end

    texts |> Map.merge(numbers) |> Map.merge(flags) |> Map.merge(context)
  end

  @doc "An exception map `%{type, value, module, chain}` within the protocol's limits."
  @spec clean_exception(term(), boolean()) :: map() | nil
  def clean_exception(exception, chained? \\ false)

  def clean_exception(%{type: type} = exception, chained?) when is_binary(type) and type != "" do
    cleaned =
      %{type: truncate(type, @max_exception_type_chars)}
      |> put_text(:value, exception[:value], @max_message_chars)
      |> put_text(:module, exception[:module], @max_exception_type_chars)

    cond do
      chained? ->
        stacktrace = clean_stacktrace(exception[:stacktrace])
        if stacktrace, do: Map.put(cleaned, :stacktrace, stacktrace), else: cleaned

      is_list(exception[:chain]) and exception[:chain] != [] ->
        chain =
          exception[:chain]
          |> Enum.take(@max_chain)
          |> Enum.map(&clean_exception(&1, true))
          |> Enum.reject(&is_nil/1)

        if chain == [], do: cleaned, else: Map.put(cleaned, :chain, chain)

      true ->
        cleaned
    end
  end

  def clean_exception(_, _), do: nil

  defp put_text(map, _key, nil, _max), do: map

  defp put_text(map, key, value, max),
    do: Map.put(map, key, value |> to_text() |> truncate(max))

  @doc "`text` cut to `max_chars` characters; a text of at most that many bytes is returned as is."
  @spec truncate(String.t(), non_neg_integer()) :: String.t()
  def truncate(text, max_chars) when byte_size(text) <= max_chars, do: text
  def truncate(text, max_chars), do: String.slice(text, 0, max_chars)

  @doc "The event with only protocol fields, each valid; unset fields are absent, never null."
  @spec clean(map()) :: map()
  def clean(event) when is_map(event) do
    exception = clean_exception(event[:exception])
    level = normalize_level(event[:level]) || if(exception, do: "error", else: "info")
    default_type = if exception || level in ["error", "fatal"], do: "error", else: "message"

    type =
      case event[:type] do
        type when type in [nil, ""] -> default_type
        type -> clean_name(to_text(type), @max_type_chars)
      end

    %{
      id: if(is_binary(event[:id]) and event[:id] != "", do: event[:id], else: uuid4()),
      type: type,
      level: level,
      message:
        if(event[:message] != nil,
          do: event[:message] |> to_text() |> truncate(@max_message_chars)
        ),
      exception: exception,
      stacktrace: if(exception, do: clean_stacktrace(event[:stacktrace])),
      environment: clean_label(event[:environment], 64, true),
      release: clean_label(event[:release], 200, false),
      tags: event[:tags] |> clean_tags() |> empty_to_nil(),
      user: clean_user(event[:user]),
      metadata: clean_metadata(event[:metadata]),
      fingerprint: clean_fingerprint(event[:fingerprint]),
      timestamp:
        if(is_binary(event[:timestamp]) or is_number(event[:timestamp]), do: event[:timestamp])
    }
    |> Enum.reject(fn {_key, value} -> is_nil(value) end)
    |> Map.new()
  end

  defp empty_to_nil(map) when map == %{}, do: nil
  defp empty_to_nil(map), do: map

  defp clean_label(nil, _max, _forbid_slash), do: nil

  defp clean_label(value, max, forbid_slash) do
    text = value |> to_text() |> String.replace(~r/[\x00-\x1f\x7f]/, "") |> truncate(max)
    text = if forbid_slash, do: String.replace(text, "/", "-"), else: text
    if text == "", do: nil, else: text
  end
end
