defmodule PulseKit.LoggerHandlerTest do
  use ExUnit.Case, async: false

  import ExUnit.CaptureLog
  import PulseKitTest.Helpers
  require Logger
  alias PulseKitTest.HTTPServer

  defmodule Cart do
    use GenServer

    def init(owner) do
      # Set inside the GenServer: its crash report is built in this process and carries it.
      PulseKit.set_tags(%{cart: "c-42"})
      {:ok, owner}
    end

    def handle_cast({:checkout, total}, state) do
      _ = charge(total)
      {:noreply, state}
    end

    def handle_cast(:stop_badly, state), do: {:stop, :inventory_gone, state}

    defp charge(total) when total > 100, do: raise(ArgumentError, "total #{total} over the limit")
    defp charge(total), do: total
  end

  setup do
    server = HTTPServer.start()
    on_exit(fn -> cleanup(server) end)
    start_sdk(server, logger_handler: true, batch_interval_ms: 20)
    {:ok, server: server}
  end

  defp event_from(request_filter) do
    request = next_request()
    Enum.find(request.json["events"], request_filter) || event_from(request_filter)
  end

  test "a crashing GenServer is reported with its exception, stacktrace, reason and process scope" do
    log =
      capture_log(fn ->
        {:ok, pid} = GenServer.start(Cart, self())
        ref = Process.monitor(pid)
        GenServer.cast(pid, {:checkout, 250})
        assert_receive {:DOWN, ^ref, :process, ^pid, {%ArgumentError{}, _stacktrace}}, 5_000
        event = event_from(&(&1["exception"]["type"] == "ArgumentError"))

        assert event["level"] == "error"
        assert event["type"] == "error"
        assert event["message"] == "process crashed: ArgumentError: total 250 over the limit"
        assert event["exception"]["value"] == "total 250 over the limit"
        assert event["tags"]["cart"] == "c-42"
        assert event["metadata"]["crash"]["last_message"] =~ "{:checkout, 250}"
        assert event["metadata"]["crash"]["reason"] =~ "ArgumentError"
        frames = event["stacktrace"]["frames"]
        failing = List.last(frames)
        assert failing["module"] == "PulseKit.LoggerHandlerTest.Cart"
        assert failing["function"] == "charge"
        assert failing["in_app"] == true
        assert failing["filename"] =~ "logger_handler_test.exs"
        assert is_integer(failing["lineno"])
        assert Enum.any?(frames, &(&1["module"] == "gen_server" and &1["in_app"] == false))
      end)

    assert log =~ "total 250 over the limit"
  end

  test "a GenServer that stops with a non-normal reason is reported with that reason" do
    capture_log(fn ->
      {:ok, pid} = GenServer.start(Cart, self())
      GenServer.cast(pid, :stop_badly)
      event = event_from(&(&1["exception"]["type"] == "ErlangError"))
      assert event["exception"]["value"] =~ ":inventory_gone"
      assert event["metadata"]["crash"]["reason"] == ":inventory_gone"
    end)
  end

  test "a crashing Task is reported with its exception and function" do
    capture_log(fn ->
      {:ok, _pid} = Task.start(fn -> Map.fetch!(Map.new([{:subtotal, 1}]), :total) end)
      event = event_from(&(&1["exception"]["type"] == "KeyError"))
      assert event["exception"]["value"] =~ "key :total not found"
      assert event["metadata"]["crash"]["function"] =~ "#Function<"

      assert Enum.any?(
               event["stacktrace"]["frames"],
               &(&1["in_app"] and &1["function"] =~ "anonymous fn/0")
             )
    end)
  end

  test "error logs become events, lower levels do not, and the logging process's tags are on them" do
    capture_log(fn ->
      PulseKit.set_tags(%{request_id: "r-9"})
      Logger.warning("only a warning")
      Logger.error("payment provider unreachable")
      event = event_from(&(&1["message"] == "payment provider unreachable"))
      assert event["level"] == "error"
      assert event["type"] == "error"
      assert event["tags"]["request_id"] == "r-9"
      assert event["tags"]["logger.mfa"] =~ "PulseKit.LoggerHandlerTest."
    end)

    assert PulseKit.flush(5_000)
  end

  test "log events of an excluded domain (Cowboy's, by default) are not reported", %{
    server: server
  } do
    capture_log(fn ->
      :logger.error("Ranch listener had its request process exit", %{domain: [:cowboy]})
      Logger.error("an application error")
      event = event_from(&(&1["level"] == "error"))
      assert event["message"] == "an application error"
      assert PulseKit.flush(5_000)
    end)

    assert Enum.map(received_events(server), & &1["message"]) == ["an application error"]
  end

  test "capture_log_level: :warning reports warnings too", %{server: server} do
    start_sdk(server, logger_handler: true, capture_log_level: :warning)

    capture_log(fn ->
      Logger.warning("disk almost full")
      event = event_from(&(&1["message"] == "disk almost full"))
      assert event["level"] == "warning"
      assert event["type"] == "message"
    end)
  end

  test "the SDK's own log lines are never sent (a refused batch must not cause another)", %{
    server: server
  } do
    HTTPServer.respond(server, [{422, [], "{}"}])

    capture_log(fn ->
      PulseKit.capture_message("refused")
      refute PulseKit.flush(5_000)
      Process.sleep(200)
      assert PulseKit.flush(5_000)
    end)

    assert length(HTTPServer.requests(server)) == 1
  end

  test "a crash logged with crash_reason metadata is reported as a crash, even with capture_log_level nil",
       %{server: server} do
    start_sdk(server, logger_handler: true, capture_log_level: nil)

    capture_log(fn ->
      try do
        raise KeyError, key: :sku, term: %{}
      rescue
        exception -> Logger.error("checkout failed", crash_reason: {exception, __STACKTRACE__})
      end

      Logger.error("a plain error log, not reported with capture_log_level: nil")
      event = event_from(&(&1["exception"]["type"] == "KeyError"))
      assert event["metadata"]["crash"]["log"] == "checkout failed"
      assert PulseKit.flush(5_000)
    end)

    assert length(received_events(server)) == 1
  end

  test "a crash that ends two processes (a Task and the GenServer that stops with its exit) is reported once",
       %{server: server} do
    defmodule Owner do
      use GenServer

      def init(:ok) do
        Process.flag(:trap_exit, true)
        {:ok, _task} = Task.start_link(fn -> raise "inventory service down" end)
        {:ok, nil}
      end

      # A common pattern: stop with the reason a linked worker died of, {exception, stacktrace}.
      def handle_info({:EXIT, _task, reason}, state), do: {:stop, reason, state}
    end

    capture_log(fn ->
      {:ok, pid} = GenServer.start(Owner, :ok)
      ref = Process.monitor(pid)
      assert_receive {:DOWN, ^ref, :process, ^pid, {%RuntimeError{}, _stacktrace}}, 5_000
      assert PulseKit.flush(5_000)
    end)

    crashes =
      Enum.filter(
        received_events(server),
        &(&1["exception"]["value"] == "inventory service down")
      )

    assert length(crashes) == 1
  end

  defmodule CrashingClient do
    @behaviour PulseKit.HTTPClient
    @impl true
    def post(_url, _headers, _body, _opts), do: raise("the HTTP client is broken")
  end

  test "a crashing HTTP client drops its batch and its crash is not sent through itself again", %{
    server: server
  } do
    start_sdk(server, logger_handler: true, http_client: CrashingClient)

    capture_log(fn ->
      PulseKit.capture_message("one event")
      refute PulseKit.flush(5_000)

      # Were the delivery task's crash report captured, it would be delivered, crash, be captured…
      Process.sleep(500)
      assert PulseKit.flush(5_000), "nothing was lost since the first flush"
    end)

    assert PulseKit.dropped_events() == %{transport_error: 1}
  end

  test "crashes are not reported once the handler is off", %{server: server} do
    start_sdk(server, logger_handler: false)

    capture_log(fn ->
      {:ok, pid} = Task.start(fn -> raise "unseen" end)
      ref = Process.monitor(pid)
      assert_receive {:DOWN, ^ref, _, _, _}, 5_000
      assert PulseKit.flush(5_000)
    end)

    assert HTTPServer.requests(server) == []
  end
end
