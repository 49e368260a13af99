defmodule PulseKitTest.Helpers do
  @moduledoc "Shared test set-up: start the SDK against a local server, collect what it sent."

  import ExUnit.Assertions
  alias PulseKitTest.HTTPServer

  @doc "Starts the SDK against `server` with fast batching; the logger handler is off unless asked for."
  def start_sdk(server, opts \\ []) do
    defaults = [
      endpoint: HTTPServer.url(server),
      api_key: "pk_test",
      batch_interval_ms: 20,
      logger_handler: false
    ]

    :ok = PulseKit.init(Keyword.merge(defaults, opts))
  end

  @doc "Every event the server received so far, in arrival order."
  def received_events(server) do
    server |> HTTPServer.requests() |> Enum.flat_map(&(&1.json["events"] || []))
  end

  @doc "Waits for the next request the server records (from the test process's mailbox)."
  def next_request(timeout_ms \\ 5_000) do
    assert_receive {:pulsekit_request, request}, timeout_ms
    request
  end

  @doc "Stops the SDK and the server after a test."
  def cleanup(server) do
    PulseKit.close(0)
    HTTPServer.stop(server)
  end
end
