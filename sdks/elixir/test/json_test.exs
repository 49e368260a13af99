defmodule PulseKit.JSONTest do
  use ExUnit.Case, async: true

  alias PulseKit.JSON.Codec

  defp encode(term), do: term |> Codec.encode_to_iodata!() |> IO.iodata_to_binary()

  test "this runtime has neither JSON nor Jason, so the SDK's own codec is picked" do
    # Elixir 1.14 / OTP 25 here; on Elixir 1.18+ JSON would win, with Jason loaded Jason would.
    assert PulseKit.JSON.pick_library(nil) == PulseKit.JSON.Codec
    assert PulseKit.JSON.pick_library(MyJSON) == MyJSON
  end

  describe "encoding" do
    for {name, term, json} <- [
          {"null and booleans", [nil, true, false], ~s([null,true,false])},
          {"integers, big ones included", [0, -7, 123_456_789_012_345_678_901_234_567_890],
           ~s([0,-7,123456789012345678901234567890])},
          {"floats in their shortest form", [812.5, 0.1, 1.0, -0.0, 1.0e20, 1.5e-7],
           ~s([812.5,0.1,1.0,-0.0,1.0e20,1.5e-7])},
          {"atoms as strings", [:info, :"with space"], ~s(["info","with space"])},
          {"atom keys", %{level: :warning}, ~s({"level":"warning"})},
          {"quotes and backslashes", ~S(say "hi" \ bye), ~S("say \"hi\" \\ bye")},
          {"control characters", "a\nb\tc\rd\u0001e\u001f\b\f",
           ~S("a\nb\tc\rd\u0001e\u001f\b\f")},
          {"unicode stays UTF-8", "café ✓ 日本 😀", ~s("café ✓ 日本 😀")},
          {"line and paragraph separators are escaped", "a\u2028b\u2029c", ~S("a\u2028b\u2029c")},
          {"the slash is left alone", "a/b", ~s("a/b")},
          {"empty containers", [%{}, []], ~s([{},[]])},
          {"nested maps and lists", %{"a" => %{"b" => [1, %{"c" => nil}]}},
           ~s({"a":{"b":[1,{"c":null}]}})}
        ] do
      test "#{name}" do
        assert encode(unquote(Macro.escape(term))) == unquote(json)
      end
    end

    test "what it writes, Python's json module would read back the same (round trip through the decoder)" do
      term = %{
        "text" => "é\"\\\n\u0000😀",
        "n" => [1, -2.5, 3.0e-5],
        "deep" => %{"x" => [[[]]]},
        "t" => true
      }

      assert Codec.decode!(encode(term)) == term
    end

    test "every control character, and escapes next to multi-byte characters, read back the same" do
      text =
        (Enum.map(0..0x1F, &<<&1>>) |> Enum.join("é")) <>
          ~s(😀"\\ 日 ) <> String.duplicate("a\"", 100)

      encoded = encode(text)
      assert Codec.decode!(encoded) == text
      refute encoded =~ ~r/[\x00-\x1f]/
      assert encoded =~ ~S("\u0000é\u0001é)
    end

    test "structs, tuples, pids and invalid UTF-8 are refused, not guessed at" do
      for term <- [~D[2026-12-02], {1, 2}, self(), <<0xFF, 0xFE>>, %{{:a} => 1}] do
        assert {:error, %ArgumentError{}} = Codec.encode(term)
      end
    end
  end

  describe "decoding" do
    for {name, json, term} <- [
          {"literals", ~s([true,false,null]), [true, false, nil]},
          {"numbers", ~s([0,-1,2.5,1e3,1E-2,-0.5e+2,10]), [0, -1, 2.5, 1.0e3, 1.0e-2, -50.0, 10]},
          {"escapes", ~S("\"\\\/\b\f\n\r\t\u00e9"), "\"\\/\b\f\n\r\té"},
          {"a surrogate pair", ~S("\ud83d\ude00"), "😀"},
          {"raw UTF-8", ~s("日本 ✓"), "日本 ✓"},
          {"whitespace around everything", ~s( \n{ "a" : [ 1 , 2 ] }\t), %{"a" => [1, 2]}},
          {"nested objects", ~s({"a":{"b":{"c":{}}}}), %{"a" => %{"b" => %{"c" => %{}}}}}
        ] do
      test "#{name}" do
        assert Codec.decode(unquote(json)) == {:ok, unquote(Macro.escape(term))}
      end
    end

    for {name, json} <- [
          {"trailing comma", ~s([1,])},
          {"trailing data", ~s({} x)},
          {"unquoted key", ~s({a:1})},
          {"single quotes", ~s(['a'])},
          {"leading zero", ~s(01)},
          {"bare decimal point", ~s(1.)},
          {"lone surrogate", ~S("\ud83d")},
          {"raw control character", "\"a\nb\""},
          {"invalid escape", ~S("\x")},
          {"unterminated string", ~s("abc)},
          {"empty input", ""},
          {"invalid UTF-8", <<?", 0xFF, ?">>}
        ] do
      test "refuses #{name}" do
        assert {:error, message} = Codec.decode(unquote(json))
        assert is_binary(message)
      end
    end
  end
end
