defmodule PulseKit.DeliveryTest do
  # The SDK is one global sender: these tests run one at a time.
  use ExUnit.Case, async: false

  import ExUnit.CaptureLog
  import PulseKitTest.Helpers
  alias PulseKitTest.HTTPServer

  setup do
    server = HTTPServer.start()
    on_exit(fn -> cleanup(server) end)
    {:ok, server: server}
  end

  defp ids_of(request), do: Enum.map(request.json["events"], & &1["id"])

  test "events leave in gzip batches of at most max_batch_size, in call order, with the key", %{
    server: server
  } do
    start_sdk(server, max_batch_size: 3, batch_interval_ms: 60_000)

    ids = for n <- 1..7, do: PulseKit.capture_message("event #{n}")

    assert PulseKit.flush(5_000)
    requests = HTTPServer.requests(server)
    assert Enum.map(requests, &length(&1.json["events"])) == [3, 3, 1]
    assert Enum.flat_map(requests, &ids_of/1) == ids
    request = hd(requests)
    assert {request.method, request.path} == {"POST", "/api/v1/events/batch"}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["x-pulsekit-key"] == "pk_test"
    assert :zlib.gunzip(request.raw_body) == request.body
  end

  test "capture takes a map or a keyword list, with atom or string keys", %{server: server} do
    start_sdk(server)

    PulseKit.capture(type: "signup", message: "keyword")

    PulseKit.capture(%{
      "type" => "signup",
      "message" => "string keys",
      "metadata" => %{"plan" => "pro"},
      "bogus" => 1
    })

    assert PulseKit.flush(5_000)
    assert [first, second] = received_events(server)
    assert {first["type"], first["message"]} == {"signup", "keyword"}

    assert Map.delete(second, "id") |> Map.delete("timestamp") == %{
             "type" => "signup",
             "level" => "info",
             "message" => "string keys",
             "metadata" => %{"plan" => "pro"}
           }
  end

  test "capture_exception reports throws and exits by their kind", %{server: server} do
    start_sdk(server)

    for fun <- [
          fn -> throw({:halt, 3}) end,
          fn -> exit(:shutdown_requested) end,
          fn -> :erlang.error(:badarith) end
        ] do
      try do
        fun.()
      catch
        kind, reason -> PulseKit.capture_exception(reason, kind: kind, stacktrace: __STACKTRACE__)
      end
    end

    assert PulseKit.flush(5_000)

    assert Enum.map(received_events(server), & &1["exception"]) == [
             %{"type" => "throw", "value" => "{:halt, 3}"},
             %{"type" => "exit", "value" => ":shutdown_requested"},
             %{"type" => "ArithmeticError", "value" => "bad argument in arithmetic expression"}
           ]
  end

  test "a batch that does not fill up leaves after batch_interval_ms, without a flush", %{
    server: server
  } do
    start_sdk(server, batch_interval_ms: 50)

    first = PulseKit.capture_message("one")
    second = PulseKit.capture_message("two")

    assert ids_of(next_request()) == [first, second]
  end

  test "network errors and 5xx are retried with the same ids until delivered", %{server: server} do
    HTTPServer.respond(server, [{500, []}, {502, []}])
    start_sdk(server)

    ids = [PulseKit.capture_message("a"), PulseKit.capture_message("b")]

    assert PulseKit.flush(10_000)
    assert Enum.map(HTTPServer.requests(server), &ids_of/1) == [ids, ids, ids]
    assert PulseKit.dropped_events() == %{}
  end

  test "429 and 503 are retried after the Retry-After the server asked for", %{server: server} do
    HTTPServer.respond(server, [{503, [{"retry-after", "1"}]}, {429, [{"Retry-After", "1"}]}])
    start_sdk(server)

    id = PulseKit.capture_message("busy")

    assert PulseKit.flush(10_000)
    [first, second, third] = HTTPServer.requests(server)
    assert Enum.map([first, second, third], &ids_of/1) == [[id], [id], [id]]
    # The header is the behaviour under test: no retry before the second the server named.
    assert second.at_ms - first.at_ms >= 900
    assert third.at_ms - second.at_ms >= 900
  end

  test "a batch is dropped and counted after max_retries, and flush says so", %{server: server} do
    HTTPServer.respond(server, [{500, []}, {500, []}])
    start_sdk(server, max_retries: 1)

    log =
      capture_log(fn ->
        PulseKit.capture_message("lost")
        refute PulseKit.flush(10_000)
      end)

    assert PulseKit.dropped_events() == %{retries_exhausted: 1}
    assert length(HTTPServer.requests(server)) == 2
    assert log =~ "gave up sending 1 events after 2 attempts"
    # The loss was reported once: the next flush, with nothing lost since, is true again.
    assert PulseKit.flush(1_000)
  end

  test "a full queue drops the newest events, counts them, and capture returns nil for them", %{
    server: server
  } do
    start_sdk(server, max_queue_size: 5, batch_interval_ms: 60_000)

    results = for n <- 1..8, do: PulseKit.capture_message("event #{n}")

    assert Enum.count(results, &is_binary/1) == 5
    assert Enum.drop(results, 5) == [nil, nil, nil]
    refute PulseKit.flush(5_000)
    assert PulseKit.dropped_events() == %{queue_full: 3}

    assert server |> received_events() |> Enum.map(& &1["message"]) ==
             for(n <- 1..5, do: "event #{n}")
  end

  test "the queue is bounded in bytes as well as in events", %{server: server} do
    start_sdk(server, max_queue_bytes: 4_096, batch_interval_ms: 60_000)
    big = String.duplicate("x", 1_000)

    results = for _ <- 1..10, do: PulseKit.capture_message(big)

    kept = Enum.count(results, &is_binary/1)
    assert kept in 2..4
    assert PulseKit.dropped_events() == %{queue_full: 10 - kept}
    refute PulseKit.flush(5_000)
    assert length(received_events(server)) == kept
  end

  test "capture never waits for the network: a hanging server does not slow the caller down", %{
    server: server
  } do
    HTTPServer.respond(server, [{:hang, 1_500, {202, []}}])
    start_sdk(server, batch_interval_ms: 0)

    PulseKit.capture_message("first")
    _in_flight = next_request()
    # The sender is now waiting for the server; every capture still gets its id straight away.
    ids = for n <- 1..200, do: PulseKit.capture_message("while hanging #{n}")

    assert Enum.all?(ids, &is_binary/1)
    refute PulseKit.flush(100), "flush returns false when its time ran out"
    assert PulseKit.flush(10_000)
    assert length(received_events(server)) == 201
  end

  test "401 stops sending, is reported once, and later events are dropped as unauthorized", %{
    server: server
  } do
    HTTPServer.respond(server, [
      {401, [], ~s({"error":{"code":"unauthorized","message":"unknown key","field":null}})}
    ])

    start_sdk(server)

    log =
      capture_log(fn ->
        PulseKit.capture_message("first")
        refute PulseKit.flush(5_000)
        PulseKit.capture_message("second")
        PulseKit.capture_message("third")
        refute PulseKit.flush(5_000)
      end)

    assert length(HTTPServer.requests(server)) == 1
    assert PulseKit.dropped_events() == %{unauthorized: 3}
    assert log =~ "the server refused the key (401): unauthorized: unknown key"
    assert length(String.split(log, "refused the key")) == 2
  end

  test "another 4xx drops the batch without retrying it", %{server: server} do
    body = ~s({"error":{"code":"invalid_field","message":"too long","field":"events[0].message"}})
    HTTPServer.respond(server, [{422, [], body}])
    start_sdk(server)

    log =
      capture_log(fn ->
        PulseKit.capture_message("refused")
        refute PulseKit.flush(5_000)
      end)

    assert length(HTTPServer.requests(server)) == 1
    assert PulseKit.dropped_events() == %{rejected: 1}
    assert log =~ "(422): invalid_field: too long (field events[0].message)"
    assert PulseKit.capture_message("next one is sent")
    assert PulseKit.flush(5_000)
  end

  test "a before_send that raises or throws drops the event and the caller carries on", %{
    server: server
  } do
    start_sdk(server,
      before_send: fn event ->
        if event.message == "raise", do: raise("bug"), else: throw(:oops)
      end
    )

    log =
      capture_log(fn ->
        assert PulseKit.capture_message("raise") == nil
        assert PulseKit.capture_message("throw") == nil
        refute PulseKit.flush(5_000)
      end)

    assert PulseKit.dropped_events() == %{before_send_error: 2}
    assert log =~ "before_send failed (** (RuntimeError) bug)"
    assert received_events(server) == []
  end

  test "sample_rate and before_send drop on purpose, without making flush false", %{
    server: server
  } do
    start_sdk(server,
      before_send: fn event ->
        if event.message == "secret", do: nil, else: Map.put(event, :message, "edited")
      end
    )

    assert PulseKit.capture_message("secret") == nil
    assert is_binary(PulseKit.capture_message("plain"))
    assert PulseKit.flush(5_000)
    assert [%{"message" => "edited"}] = received_events(server)
    assert PulseKit.dropped_events() == %{before_send: 1}

    start_sdk(server, sample_rate: 0.0)
    assert PulseKit.capture_message("sampled out") == nil
    assert PulseKit.dropped_events() == %{sample_rate: 1}
  end

  defmodule RecordingClient do
    @behaviour PulseKit.HTTPClient
    @impl true
    def post(url, headers, body, _opts) do
      send(:pulsekit_delivery_test, {:posted, url, headers, :zlib.gunzip(body)})
      {:ok, 202, [], "{}"}
    end
  end

  test "the HTTP client is a behaviour: a custom module gets the request", %{server: server} do
    Process.register(self(), :pulsekit_delivery_test)
    start_sdk(server, http_client: RecordingClient)

    id = PulseKit.capture_message("via my client")

    assert PulseKit.flush(5_000)
    assert_receive {:posted, url, headers, body}
    assert url == HTTPServer.url(server) <> "/api/v1/events/batch"
    assert {"x-pulsekit-key", "pk_test"} in headers
    assert [%{"id" => ^id}] = PulseKit.JSON.Codec.decode!(body)["events"]
    assert HTTPServer.requests(server) == []
  end

  test "a refused connection is retried, then counted as retries exhausted" do
    {:ok, socket} = :gen_tcp.listen(0, ip: {127, 0, 0, 1})
    {:ok, port} = :inet.port(socket)
    :gen_tcp.close(socket)

    PulseKit.init(
      endpoint: "http://127.0.0.1:#{port}",
      api_key: "pk_test",
      max_retries: 1,
      logger_handler: false
    )

    capture_log(fn ->
      PulseKit.capture_message("nowhere")
      refute PulseKit.flush(10_000)
    end)

    assert PulseKit.dropped_events() == %{retries_exhausted: 1}
  end

  test "Retry-After accepts seconds and HTTP dates, capped at 60 s" do
    now = ~U[2026-12-02 07:00:00Z]
    assert PulseKit.Transport.parse_retry_after("2", now) == 2_000
    assert PulseKit.Transport.parse_retry_after("0.5", now) == 500
    assert PulseKit.Transport.parse_retry_after("Wed, 02 Dec 2026 07:00:05 GMT", now) == 5_000
    assert PulseKit.Transport.parse_retry_after("3600", now) == 60_000
    assert PulseKit.Transport.parse_retry_after("soon", now) == nil
  end

  test "backoff doubles from 500 ms to 30 s and keeps at least half of it" do
    assert PulseKit.Sender.backoff_ms(0, 0.0) == 250
    assert PulseKit.Sender.backoff_ms(0, 1.0) == 500
    assert PulseKit.Sender.backoff_ms(3, 1.0) == 4_000
    assert PulseKit.Sender.backoff_ms(20, 1.0) == 30_000
  end
end
