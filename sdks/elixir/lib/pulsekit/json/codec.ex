defmodule PulseKit.JSON.Codec do
  @moduledoc """
  The SDK's own small JSON encoder and decoder (RFC 8259), used when neither Elixir's `JSON`
  nor `Jason` is available.

  Encoding accepts maps (string, atom or integer keys), lists, binaries (valid UTF-8),
  integers, floats, `true`, `false`, `nil` and other atoms (as strings). Anything else,
  structs included, raises `ArgumentError`: the SDK converts such values before encoding.
  Strings are written as UTF-8, escaping only what JSON requires (`"`, `\\`, control
  characters) plus U+2028/U+2029, which some JavaScript parsers reject.
  """

  import Bitwise

  # --- encoding -------------------------------------------------------------------------

  @doc "Encodes `term` to iodata; raises `ArgumentError` for values JSON cannot hold."
  @spec encode_to_iodata!(term()) :: iodata()
  def encode_to_iodata!(term), do: value(term)

  @doc "Encodes `term` to a binary; `{:ok, binary}` or `{:error, %ArgumentError{}}`."
  @spec encode(term()) :: {:ok, binary()} | {:error, Exception.t()}
  def encode(term) do
    {:ok, IO.iodata_to_binary(value(term))}
  rescue
    error in ArgumentError -> {:error, error}
  end

  defp value(nil), do: "null"
  defp value(true), do: "true"
  defp value(false), do: "false"
  defp value(atom) when is_atom(atom), do: string(Atom.to_string(atom))
  defp value(binary) when is_binary(binary), do: string(binary)
  defp value(integer) when is_integer(integer), do: Integer.to_string(integer)
  # :short gives the shortest text that reads back as the same float (812.5, 1.0e20).
  defp value(float) when is_float(float), do: :erlang.float_to_binary(float, [:short])

  defp value(list) when is_list(list),
    do: [?[, list |> Enum.map(&value/1) |> Enum.intersperse(?,), ?]]

  defp value(%{__struct__: module}) do
    raise ArgumentError, "cannot encode a #{inspect(module)} struct as JSON; convert it first"
  end

  defp value(map) when is_map(map) do
    pairs = Enum.map(map, fn {key, item} -> [string(key_text(key)), ?:, value(item)] end)
    [?{, Enum.intersperse(pairs, ?,), ?}]
  end

  defp value(other), do: raise(ArgumentError, "cannot encode #{inspect(other)} as JSON")

  defp key_text(key) when is_binary(key), do: key
  defp key_text(key) when is_atom(key), do: Atom.to_string(key)
  defp key_text(key) when is_integer(key), do: Integer.to_string(key)
  defp key_text(key), do: raise(ArgumentError, "cannot use #{inspect(key)} as a JSON object key")

  defp string(binary) do
    if not String.valid?(binary) do
      raise ArgumentError, "cannot encode a binary that is not valid UTF-8 as a JSON string"
    end

    # :binary.matches (in C) finds what needs escaping; most strings have nothing to escape.
    case :binary.matches(binary, escape_pattern()) do
      [] -> [?", binary, ?"]
      found -> [?", escape(binary, found, 0, []), ?"]
    end
  end

  @escaped_sequences [<<?">>, <<?\\>>, <<0xE2, 0x80, 0xA8>>, <<0xE2, 0x80, 0xA9>>] ++
                       for(byte <- 0..0x1F, do: <<byte>>)

  # A compiled pattern cannot be a module attribute; it is made once and kept.
  defp escape_pattern do
    case :persistent_term.get({__MODULE__, :escape_pattern}, nil) do
      nil ->
        pattern = :binary.compile_pattern(@escaped_sequences)
        :persistent_term.put({__MODULE__, :escape_pattern}, pattern)
        pattern

      pattern ->
        pattern
    end
  end

  # Copies the runs between matches as sub-binaries and replaces each match by its escape.
  # (In valid UTF-8 none of the sequences can sit inside another character.)
  defp escape(binary, [], from, acc),
    do: Enum.reverse([binary_part(binary, from, byte_size(binary) - from) | acc])

  defp escape(binary, [{position, length} | rest], from, acc) do
    run = binary_part(binary, from, position - from)

    escape(binary, rest, position + length, [
      escaped(binary_part(binary, position, length)),
      run | acc
    ])
  end

  defp escaped(<<0xE2, 0x80, 0xA8>>), do: "\\u2028"
  defp escaped(<<0xE2, 0x80, 0xA9>>), do: "\\u2029"
  defp escaped(<<byte>>), do: escaped(byte)

  defp escaped(?"), do: "\\\""
  defp escaped(?\\), do: "\\\\"
  defp escaped(?\n), do: "\\n"
  defp escaped(?\r), do: "\\r"
  defp escaped(?\t), do: "\\t"
  defp escaped(?\b), do: "\\b"
  defp escaped(?\f), do: "\\f"
  defp escaped(byte), do: ["\\u00", hex_digit(byte >>> 4), hex_digit(byte &&& 0xF)]

  defp hex_digit(digit) when digit < 10, do: ?0 + digit
  defp hex_digit(digit), do: ?a + digit - 10

  # --- decoding -------------------------------------------------------------------------

  @doc "Decodes a JSON text; objects become maps with string keys."
  @spec decode(binary()) :: {:ok, term()} | {:error, String.t()}
  def decode(text) when is_binary(text) do
    {parsed, rest} = parse_value(skip_space(text))

    case skip_space(rest) do
      "" -> {:ok, parsed}
      extra -> {:error, "unexpected #{describe(extra)} after the JSON value"}
    end
  catch
    {:json_error, message} -> {:error, message}
  end

  @doc "Like `decode/1` but raises `ArgumentError`."
  @spec decode!(binary()) :: term()
  def decode!(text) do
    case decode(text) do
      {:ok, parsed} -> parsed
      {:error, message} -> raise ArgumentError, "invalid JSON: " <> message
    end
  end

  defp fail(message), do: throw({:json_error, message})

  defp describe(""), do: "end of input"
  defp describe(<<char::utf8, _::binary>>), do: "character #{inspect(<<char::utf8>>)}"
  defp describe(<<byte, _::binary>>), do: "byte #{byte}"

  defp skip_space(<<char, rest::binary>>) when char in [?\s, ?\t, ?\n, ?\r], do: skip_space(rest)
  defp skip_space(text), do: text

  defp parse_value(<<"{", rest::binary>>), do: parse_object(skip_space(rest), %{})
  defp parse_value(<<"[", rest::binary>>), do: parse_array(skip_space(rest), [])
  defp parse_value(<<"\"", rest::binary>>), do: parse_string(rest, [])
  defp parse_value(<<"true", rest::binary>>), do: {true, rest}
  defp parse_value(<<"false", rest::binary>>), do: {false, rest}
  defp parse_value(<<"null", rest::binary>>), do: {nil, rest}

  defp parse_value(<<char, _::binary>> = text) when char == ?- or char in ?0..?9,
    do: parse_number(text)

  defp parse_value(text), do: fail("unexpected #{describe(text)}, expected a JSON value")

  defp parse_object(<<"}", rest::binary>>, acc) when acc == %{}, do: {acc, rest}

  defp parse_object(<<"\"", rest::binary>>, acc) do
    {key, rest} = parse_string(rest, [])

    case skip_space(rest) do
      <<":", rest::binary>> ->
        {item, rest} = parse_value(skip_space(rest))
        acc = Map.put(acc, key, item)

        case skip_space(rest) do
          <<",", rest::binary>> -> parse_object(skip_space(rest), acc)
          <<"}", rest::binary>> -> {acc, rest}
          other -> fail("unexpected #{describe(other)} in an object, expected , or }")
        end

      other ->
        fail("unexpected #{describe(other)} after an object key, expected :")
    end
  end

  defp parse_object(text, _acc), do: fail("unexpected #{describe(text)}, expected an object key")

  defp parse_array(<<"]", rest::binary>>, []), do: {[], rest}

  defp parse_array(text, acc) do
    {item, rest} = parse_value(text)

    case skip_space(rest) do
      <<",", rest::binary>> -> parse_array(skip_space(rest), [item | acc])
      <<"]", rest::binary>> -> {Enum.reverse([item | acc]), rest}
      other -> fail("unexpected #{describe(other)} in an array, expected , or ]")
    end
  end

  defp parse_string(<<"\"", rest::binary>>, acc) do
    string = IO.iodata_to_binary(Enum.reverse(acc))
    if String.valid?(string), do: {string, rest}, else: fail("a string is not valid UTF-8")
  end

  defp parse_string(<<"\\u", a, b, c, d, rest::binary>>, acc) do
    case hex4(a, b, c, d) do
      high when high in 0xD800..0xDBFF ->
        case rest do
          <<"\\u", e, f, g, h, after_pair::binary>> ->
            low = hex4(e, f, g, h)
            if low not in 0xDC00..0xDFFF, do: fail("an unpaired UTF-16 surrogate in a string")
            code = 0x10000 + ((high - 0xD800) <<< 10) + (low - 0xDC00)
            parse_string(after_pair, [<<code::utf8>> | acc])

          _ ->
            fail("an unpaired UTF-16 surrogate in a string")
        end

      low when low in 0xDC00..0xDFFF ->
        fail("an unpaired UTF-16 surrogate in a string")

      code ->
        parse_string(rest, [<<code::utf8>> | acc])
    end
  end

  defp parse_string(<<"\\", char, rest::binary>>, acc) do
    case char do
      ?" -> parse_string(rest, [?" | acc])
      ?\\ -> parse_string(rest, [?\\ | acc])
      ?/ -> parse_string(rest, [?/ | acc])
      ?b -> parse_string(rest, [?\b | acc])
      ?f -> parse_string(rest, [?\f | acc])
      ?n -> parse_string(rest, [?\n | acc])
      ?r -> parse_string(rest, [?\r | acc])
      ?t -> parse_string(rest, [?\t | acc])
      _ -> fail("an invalid escape \\#{<<char>>} in a string")
    end
  end

  defp parse_string(<<char, _::binary>>, _acc) when char < 0x20,
    do: fail("a control character inside a string (it must be escaped)")

  defp parse_string(<<char, rest::binary>>, acc), do: parse_string(rest, [char | acc])
  defp parse_string(<<>>, _acc), do: fail("end of input inside a string")

  defp hex4(a, b, c, d) do
    case Integer.parse(<<a, b, c, d>>, 16) do
      {code, ""} -> code
      _ -> fail("an invalid \\u escape in a string")
    end
  end

  defp parse_number(text) do
    {sign, rest} = take_sign(text)
    {integer, rest} = take_integer_part(rest)
    {fraction, rest} = take_fraction(rest)
    {exponent, rest} = take_exponent(rest)

    if fraction == "" and exponent == "" do
      {String.to_integer(sign <> integer), rest}
    else
      # Erlang's float reader needs "I.F" and an exponent written as "e±N".
      text = sign <> integer <> "." <> if(fraction == "", do: "0", else: fraction) <> exponent

      try do
        {String.to_float(text), rest}
      rescue
        ArgumentError -> fail("the number #{text} is out of range")
      end
    end
  end

  defp take_sign(<<"-", rest::binary>>), do: {"-", rest}
  defp take_sign(rest), do: {"", rest}

  defp take_integer_part(<<"0", rest::binary>>), do: {"0", rest}

  defp take_integer_part(<<char, _::binary>> = text) when char in ?1..?9,
    do: take_digits(text, "")

  defp take_integer_part(text), do: fail("unexpected #{describe(text)} in a number")

  defp take_fraction(<<".", char, _::binary>> = text) when char in ?0..?9 do
    <<".", rest::binary>> = text
    take_digits(rest, "")
  end

  defp take_fraction(<<".", rest::binary>>),
    do: fail("unexpected #{describe(rest)} after a decimal point")

  defp take_fraction(text), do: {"", text}

  defp take_exponent(<<e, rest::binary>>) when e in [?e, ?E] do
    {sign, rest} =
      case rest do
        <<"-", rest::binary>> -> {"-", rest}
        <<"+", rest::binary>> -> {"", rest}
        rest -> {"", rest}
      end

    case rest do
      <<char, _::binary>> when char in ?0..?9 ->
        {digits, rest} = take_digits(rest, "")
        {"e" <> sign <> digits, rest}

      other ->
        fail("unexpected #{describe(other)} in an exponent")
    end
  end

  defp take_exponent(text), do: {"", text}

  defp take_digits(<<char, rest::binary>>, acc) when char in ?0..?9,
    do: take_digits(rest, <<acc::binary, char>>)

  defp take_digits(rest, acc), do: {acc, rest}
end
