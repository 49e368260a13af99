defmodule PulseKit.SourceContextTest do
  use ExUnit.Case, async: false

  import PulseKitTest.Helpers
  alias PulseKitTest.HTTPServer

  setup do
    server = HTTPServer.start()
    on_exit(fn -> cleanup(server) end)
    {:ok, server: server}
  end

  defp fail_here do
    # a line before
    raise ArgumentError, "context wanted"
  end

  defp capture_failure do
    fail_here()
  rescue
    exception -> PulseKit.capture_exception(exception, stacktrace: __STACKTRACE__)
  end

  test "in-app frames carry the source lines around the failing line", %{server: server} do
    start_sdk(server)
    capture_failure()

    assert PulseKit.flush(5_000)
    [event] = received_events(server)
    failing = List.last(event["stacktrace"]["frames"])
    assert failing["function"] == "fail_here"
    assert failing["context_line"] == ~s(    raise ArgumentError, "context wanted")
    assert List.last(failing["pre_context"]) == "    # a line before"
    assert length(failing["pre_context"]) == 5
    assert hd(failing["post_context"]) == "  end"
    # OTP's and Elixir's frames are not in-app: no source is looked for.
    refute Enum.any?(
             event["stacktrace"]["frames"],
             &(not &1["in_app"] and Map.has_key?(&1, "context_line"))
           )
  end

  test "source_context: false leaves frames without source lines", %{server: server} do
    start_sdk(server, source_context: false)
    capture_failure()

    assert PulseKit.flush(5_000)
    [event] = received_events(server)
    refute Enum.any?(event["stacktrace"]["frames"], &Map.has_key?(&1, "context_line"))
  end
end
