defmodule PulseKit.LifecycleTest do
  # The supervision tree: the sender restarts after a crash, sends what is queued when it is
  # stopped, and the API stays harmless before init and after close.
  use ExUnit.Case, async: false

  import ExUnit.CaptureLog
  import PulseKitTest.Helpers
  alias PulseKitTest.HTTPServer

  setup do
    server = HTTPServer.start()
    on_exit(fn -> cleanup(server) end)
    {:ok, server: server}
  end

  test "after close, capturing returns nil, flush false, and nothing raises", %{server: server} do
    start_sdk(server)
    assert PulseKit.close(1_000)

    assert PulseKit.capture_message("too late") == nil
    assert PulseKit.capture(%{type: "x"}) == nil
    assert PulseKit.capture_exception(%RuntimeError{message: "x"}) == nil
    refute PulseKit.flush(100)
    refute PulseKit.close(100)
    assert PulseKit.dropped_events() == %{}
    assert HTTPServer.requests(server) == []
  end

  test "a killed sender is restarted by the supervisor and capturing works again", %{
    server: server
  } do
    start_sdk(server)
    old = PulseKit.Sender.runtime().sender

    capture_log(fn ->
      Process.exit(old, :kill)
      wait_until(fn -> match?(%{sender: pid} when pid != old, PulseKit.Sender.runtime()) end)
    end)

    id = PulseKit.capture_message("after the restart")
    assert PulseKit.flush(5_000)
    assert [%{"id" => ^id}] = received_events(server)
  end

  test "stopping the sender (application shutdown) sends what is still queued", %{server: server} do
    start_sdk(server, batch_interval_ms: 60_000)
    ids = for n <- 1..3, do: PulseKit.capture_message("queued #{n}")

    :ok = Supervisor.terminate_child(PulseKit.Supervisor, PulseKit.Sender)

    assert Enum.map(received_events(server), & &1["id"]) == ids
  end

  test "init again replaces the configuration; the previous sender's queue is flushed first", %{
    server: server
  } do
    start_sdk(server, environment: "staging", batch_interval_ms: 60_000)
    first = PulseKit.capture_message("before")
    start_sdk(server, environment: "production")
    second = PulseKit.capture_message("after")

    assert PulseKit.flush(5_000)
    environments = Map.new(received_events(server), &{&1["id"], &1["environment"]})
    assert environments == %{first => "staging", second => "production"}
  end

  test "enabled: false keeps the SDK off, even through init", %{server: server} do
    start_sdk(server, enabled: false)

    assert PulseKit.capture_message("off") == nil
    refute PulseKit.flush(100)
    assert HTTPServer.requests(server) == []
  end

  defp wait_until(check, tries \\ 100) do
    cond do
      check.() ->
        :ok

      tries == 0 ->
        flunk("condition not met")

      true ->
        Process.sleep(20)
        wait_until(check, tries - 1)
    end
  end
end
