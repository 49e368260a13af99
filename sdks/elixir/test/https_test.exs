defmodule PulseKit.HTTPSTest do
  # https through :httpc with peer verification, the host name check and SNI, against a local
  # TLS server whose certificate chain is generated for the test (:public_key.pkix_test_data/1).
  use ExUnit.Case, async: false

  import ExUnit.CaptureLog

  setup do
    # The certificate names "localhost" only.
    san = {:Extension, {2, 5, 29, 17}, false, [{:dNSName, ~c"localhost"}]}
    # ECDSA P-256 with SHA-256: what TLS 1.3 accepts by default.
    key = [key: {:namedCurve, {1, 2, 840, 10045, 3, 1, 7}}, digest: :sha256]
    chains = %{server_chain: %{root: key, intermediates: [], peer: [extensions: [san]] ++ key}}
    chains = Map.put(chains, :client_chain, %{root: key, intermediates: [], peer: key})

    %{server_config: server_config, client_config: client_config} =
      :public_key.pkix_test_data(chains)

    {:ok, listener} =
      :ssl.listen(
        0,
        [:binary, ip: {127, 0, 0, 1}, active: false, reuseaddr: true] ++ server_config
      )

    {:ok, {_, port}} = :ssl.sockname(listener)
    test = self()
    acceptor = spawn_link(fn -> accept(listener, test) end)
    :ok = :ssl.controlling_process(listener, acceptor)

    on_exit(fn ->
      PulseKit.close(0)
      :ssl.close(listener)
    end)

    {:ok, port: port, ca: client_config[:cacerts]}
  end

  defp accept(listener, test) do
    with {:ok, socket} <- :ssl.transport_accept(listener),
         {:ok, socket} <- :ssl.handshake(socket, 5_000) do
      {:ok, request} = read_request(socket, "")
      send(test, {:https_request, request})

      :ssl.send(
        socket,
        "HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}"
      )

      :ssl.close(socket)
    end

    accept(listener, test)
  catch
    _, _ -> :ok
  end

  defp read_request(socket, acc) do
    with [head, body] <- String.split(acc, "\r\n\r\n", parts: 2),
         [_, length] <- Regex.run(~r/content-length: *(\d+)/i, head),
         true <- byte_size(body) >= String.to_integer(length) do
      {:ok, head}
    else
      _ ->
        case :ssl.recv(socket, 0, 5_000) do
          {:ok, data} -> read_request(socket, acc <> data)
          error -> error
        end
    end
  end

  defp start(endpoint, extra) do
    opts = [
      endpoint: endpoint,
      api_key: "pk_tls",
      logger_handler: false,
      max_retries: 0,
      batch_interval_ms: 0
    ]

    PulseKit.init(opts ++ extra)
  end

  test "a server whose certificate chains to a trusted CA and names the host gets the batch", %{
    port: port,
    ca: ca
  } do
    start("https://localhost:#{port}", ssl_options: [cacerts: ca])

    PulseKit.capture_message("over TLS")

    assert PulseKit.flush(10_000)
    assert_received {:https_request, head}
    assert head =~ "POST /api/v1/events/batch HTTP/1.1"
  end

  test "a certificate from a CA the system does not trust is refused", %{port: port} do
    start("https://localhost:#{port}", [])

    log =
      capture_log(fn ->
        PulseKit.capture_message("must not leave")
        refute PulseKit.flush(10_000)
      end)

    assert log =~ "Unknown CA"

    assert PulseKit.dropped_events() == %{retries_exhausted: 1}
    refute_received {:https_request, _}
  end

  test "a trusted certificate for another host name is refused", %{port: port, ca: ca} do
    start("https://127.0.0.1:#{port}", ssl_options: [cacerts: ca])

    log =
      capture_log(fn ->
        PulseKit.capture_message("wrong host")
        refute PulseKit.flush(10_000)
      end)

    assert log =~ "hostname_check_failed"

    assert PulseKit.dropped_events() == %{retries_exhausted: 1}
    refute_received {:https_request, _}
  end

  test "the default options verify the peer against the operating system's CA store" do
    options = PulseKit.HTTPClient.Httpc.ssl_options("https://pulsekit.example:443", [])
    assert options[:verify] == :verify_peer
    assert options[:server_name_indication] == ~c"pulsekit.example"
    assert length(options[:cacerts]) > 0
    assert is_function(options[:customize_hostname_check][:match_fun])
  end
end
