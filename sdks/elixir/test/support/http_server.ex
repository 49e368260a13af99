defmodule PulseKitTest.HTTPServer do
  @moduledoc """
  A small HTTP/1.1 server on 127.0.0.1 for the SDK's tests, written with `:gen_tcp`.

  It records every request (method, path, headers, gunzipped body, decoded JSON, arrival
  time), sends `{:pulsekit_request, request}` to the process that started it, and answers
  from a script: each `respond/2` entry is used once, in order, then `202`.
  An entry is `{status, headers}`, `{status, headers, body}` or `{:hang, ms, entry}`.
  """

  use Agent

  defstruct [:port, :agent, :listener]

  def start(owner \\ self()) do
    {:ok, listener} =
      :gen_tcp.listen(0, [
        :binary,
        ip: {127, 0, 0, 1},
        packet: :http_bin,
        active: false,
        reuseaddr: true
      ])

    {:ok, port} = :inet.port(listener)
    {:ok, agent} = Agent.start_link(fn -> %{script: [], requests: [], owner: owner} end)
    acceptor = spawn_link(fn -> accept_loop(listener, agent) end)
    :ok = :gen_tcp.controlling_process(listener, acceptor)
    %__MODULE__{port: port, agent: agent, listener: listener}
  end

  def url(server), do: "http://127.0.0.1:#{server.port}"

  def respond(server, entries),
    do: Agent.update(server.agent, &%{&1 | script: &1.script ++ entries})

  def requests(server), do: server.agent |> Agent.get(& &1.requests) |> Enum.reverse()

  def stop(server) do
    :gen_tcp.close(server.listener)
    if Process.alive?(server.agent), do: Agent.stop(server.agent)
  end

  defp accept_loop(listener, agent) do
    case :gen_tcp.accept(listener) do
      {:ok, socket} ->
        pid = spawn(fn -> serve(socket, agent) end)
        :gen_tcp.controlling_process(socket, pid)
        accept_loop(listener, agent)

      {:error, _closed} ->
        :ok
    end
  end

  # One connection: requests one after another (keep-alive) until the client closes.
  defp serve(socket, agent) do
    with {:ok, {:http_request, method, {:abs_path, path}, _version}} <- :gen_tcp.recv(socket, 0),
         {:ok, headers} <- read_headers(socket, []),
         {:ok, body} <- read_body(socket, headers) do
      request = record(agent, method, path, headers, body)
      answer(socket, next_entry(agent), request)
      serve(socket, agent)
    else
      _ -> :gen_tcp.close(socket)
    end
  end

  defp read_headers(socket, acc) do
    case :gen_tcp.recv(socket, 0) do
      {:ok, {:http_header, _, name, _, value}} ->
        read_headers(socket, [{String.downcase(to_string(name)), value} | acc])

      {:ok, :http_eoh} ->
        {:ok, Map.new(acc)}

      other ->
        {:error, other}
    end
  end

  defp read_body(socket, headers) do
    length = String.to_integer(Map.get(headers, "content-length", "0"))
    :inet.setopts(socket, packet: :raw)

    result = if length > 0, do: :gen_tcp.recv(socket, length), else: {:ok, ""}
    :inet.setopts(socket, packet: :http_bin)
    result
  end

  defp record(agent, method, path, headers, raw) do
    body = if headers["content-encoding"] == "gzip", do: :zlib.gunzip(raw), else: raw

    request = %{
      method: to_string(method),
      path: path,
      headers: headers,
      raw_body: raw,
      body: body,
      json: PulseKit.JSON.Codec.decode!(body),
      at_ms: System.monotonic_time(:millisecond)
    }

    owner =
      Agent.get_and_update(agent, fn state ->
        {state.owner, %{state | requests: [request | state.requests]}}
      end)

    send(owner, {:pulsekit_request, request})
    request
  end

  defp next_entry(agent) do
    Agent.get_and_update(agent, fn
      %{script: [entry | rest]} = state -> {entry, %{state | script: rest}}
      state -> {{202, []}, state}
    end)
  end

  defp answer(socket, {:hang, ms, entry}, request) do
    Process.sleep(ms)
    answer(socket, entry, request)
  end

  defp answer(socket, {status, headers}, request) do
    ids = request.json |> Map.get("events", []) |> Enum.map(& &1["id"])
    answer(socket, {status, headers, PulseKit.JSON.Codec.encode_to_iodata!(%{ids: ids})}, request)
  end

  defp answer(socket, {status, headers, body}, _request) do
    body = IO.iodata_to_binary(body)
    lines = Enum.map(headers, fn {name, value} -> "#{name}: #{value}\r\n" end)

    head =
      "HTTP/1.1 #{status} X\r\ncontent-type: application/json\r\ncontent-length: #{byte_size(body)}\r\n"

    :gen_tcp.send(socket, [head, lines, "\r\n", body])
  end
end
