defmodule PulseKit.EventTest do
  use ExUnit.Case, async: true

  alias PulseKit.Event

  defmodule Order do
    defstruct [:id, :lines, :placed_at]
  end

  describe "json_safe: any Elixir term becomes JSON the server accepts" do
    test "structs become maps of their fields, times become ISO 8601" do
      order = %Order{id: 7, lines: [%{sku: :a1}], placed_at: ~U[2026-12-02 07:00:00.123Z]}

      assert Event.json_safe(%{order: order, day: ~D[2026-12-02], at: ~N[2026-12-02 07:00:00]}) ==
               %{
                 "order" => %{
                   "id" => 7,
                   "lines" => [%{"sku" => "a1"}],
                   "placed_at" => "2026-12-02T07:00:00.123Z"
                 },
                 "day" => "2026-12-02",
                 "at" => "2026-12-02T07:00:00"
               }
    end

    test "atoms, tuples, keyword lists, pids, functions and invalid UTF-8" do
      safe =
        Event.json_safe(%{
          status: :ok,
          pair: {1, "a"},
          opts: [retry: true],
          pid: self(),
          fun: &String.upcase/1,
          raw: <<0xFF>>
        })

      assert safe["status"] == "ok"
      assert safe["pair"] == [1, "a"]
      assert safe["opts"] == [["retry", true]]
      assert safe["pid"] =~ ~r/^#PID<\d+\.\d+\.\d+>$/
      assert safe["fun"] == "&String.upcase/1"
      assert safe["raw"] == ~s(<<255>>)
    end

    test "non-string keys become text, and nesting deeper than the server allows becomes inspect text" do
      assert Event.json_safe(%{1 => "a", {:k} => "b"}) == %{"1" => "a", "{:k}" => "b"}
      deep = Enum.reduce(1..12, "bottom", fn _, acc -> %{"d" => acc} end)
      cut = Enum.reduce(1..8, Event.json_safe(deep), fn _, acc -> acc["d"] end)
      assert is_binary(cut["d"]) and cut["d"] =~ "bottom"
    end
  end

  describe "clean" do
    test "levels are normalised from atoms and strings" do
      for {given, level} <- [
            {:warn, "warning"},
            {"WARN", "warning"},
            {:critical, "fatal"},
            {"err", "error"},
            {:notice, "info"}
          ] do
        assert Event.clean(%{level: given}).level == level
      end
    end

    test "type defaults: error for error levels and exceptions, message otherwise" do
      assert Event.clean(%{level: :info}).type == "message"
      assert Event.clean(%{level: :error}).type == "error"

      assert Event.clean(%{exception: %{type: "RuntimeError", value: "x"}})
             |> Map.take([:type, :level]) == %{type: "error", level: "error"}

      assert Event.clean(%{type: "payment success!"}).type == "payment_success_"
    end

    test "tags become strings within the protocol's limits" do
      tags =
        Event.clean(%{
          tags: %{
            "attempt" => 2,
            "bad key" => "a\nb",
            sandbox: false,
            ratio: 0.5,
            mode: :live,
            gone: nil
          }
        }).tags

      assert tags == %{
               "attempt" => "2",
               "sandbox" => "false",
               "ratio" => "0.5",
               "mode" => "live",
               "bad_key" => "a b"
             }

      many = Map.new(1..60, &{"t#{&1}", &1})
      assert map_size(Event.clean(%{tags: many}).tags) == 50
    end

    test "unset fields are absent, never null or empty" do
      event = Event.clean(%{message: "hi", tags: %{}, user: %{}, metadata: nil})
      assert Map.keys(event) |> Enum.sort() == [:id, :level, :message, :type]
    end

    test "metadata over 64 KiB is replaced by a note of its size" do
      log =
        ExUnit.CaptureLog.capture_log(fn ->
          event = Event.clean(%{metadata: %{blob: String.duplicate("x", 70_000)}})
          assert event.metadata["pulsekit_dropped_metadata_bytes"] > 65_536
        end)

      assert log =~ "exceeds 65536 and was dropped"
    end

    test "user keeps the protocol's fields as strings, environment loses slashes" do
      event =
        Event.clean(%{
          user: %{id: 42, email: "ada@example.com", name: "Ada"},
          environment: "prod/eu"
        })

      assert event.user == %{"id" => "42", "email" => "ada@example.com"}
      assert event.environment == "prod-eu"
    end

    test "a stacktrace keeps the 250 frames nearest the failure" do
      frames = for n <- 1..300, do: %{function: "f#{n}", lineno: n, in_app: true, junk: 1}

      cleaned =
        Event.clean(%{exception: %{type: "E"}, stacktrace: %{frames: frames}}).stacktrace.frames

      assert length(cleaned) == 250
      assert List.last(cleaned) == %{function: "f300", lineno: 300, in_app: true}
    end
  end

  test "a frame keeps the 10 source lines nearest its line on each side" do
    frame = %{
      function: "f",
      pre_context: Enum.map(1..15, &"pre #{&1}"),
      post_context: Enum.map(1..15, &"post #{&1}")
    }

    [cleaned] =
      Event.clean(%{exception: %{type: "E"}, stacktrace: %{frames: [frame]}}).stacktrace.frames

    assert cleaned.pre_context == Enum.map(6..15, &"pre #{&1}")
    assert cleaned.post_context == Enum.map(1..10, &"post #{&1}")
  end

  test "uuid4 makes distinct canonical version-4 ids" do
    ids = for _ <- 1..1000, do: Event.uuid4()
    assert length(Enum.uniq(ids)) == 1000

    assert Enum.all?(
             ids,
             &(&1 =~ ~r/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
           )
  end
end
