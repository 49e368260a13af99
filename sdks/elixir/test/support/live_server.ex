defmodule PulseKitTest.LiveServer do
  @moduledoc """
  A real PulseKit server (`python -m pulsekit.cli serve`) on a free 127.0.0.1 port with a
  temporary data folder, and its CLI. The Python comes from PULSEKIT_PYTHON or the
  repository's `.venv`; when it is missing the test fails, it is never skipped.
  """

  import ExUnit.Assertions

  defstruct [:url, :data_dir, :port, :os_pid]

  @repo_root Path.expand("../../../..", __DIR__)

  def python do
    python = System.get_env("PULSEKIT_PYTHON") || Path.join(@repo_root, ".venv/bin/python")

    assert File.exists?(python),
           "no Python with the PulseKit server at #{python}: set PULSEKIT_PYTHON or create .venv"

    python
  end

  def start do
    data_dir =
      Path.join(System.tmp_dir!(), "pulsekit-elixir-#{System.unique_integer([:positive])}")

    File.mkdir_p!(data_dir)
    {:ok, socket} = :gen_tcp.listen(0, ip: {127, 0, 0, 1})
    {:ok, port_number} = :inet.port(socket)
    :gen_tcp.close(socket)

    args = [
      "-m",
      "pulsekit.cli",
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "#{port_number}",
      "--data-dir",
      data_dir
    ]

    port =
      Port.open({:spawn_executable, python()}, [
        :binary,
        :exit_status,
        :stderr_to_stdout,
        args: args,
        cd: @repo_root
      ])

    {:os_pid, os_pid} = Port.info(port, :os_pid)

    server = %__MODULE__{
      url: "http://127.0.0.1:#{port_number}",
      data_dir: data_dir,
      port: port,
      os_pid: os_pid
    }

    wait_until_healthy(server, 300)
    server
  end

  defp wait_until_healthy(server, 0),
    do: flunk("the PulseKit server at #{server.url} did not become healthy")

  defp wait_until_healthy(server, tries) do
    case get(server.url <> "/api/v1/health", []) do
      {:ok, 200, _body} ->
        :ok

      _ ->
        Process.sleep(200)
        wait_until_healthy(server, tries - 1)
    end
  end

  def stop(server) do
    System.cmd("kill", ["#{server.os_pid}"])
    File.rm_rf(server.data_dir)
  end

  @doc "A new project and a key with ingest and read: `%{\"key\" => …, \"dsn\" => …}`."
  def new_key(server, name) do
    project = cli(server, ["project", "create", name])
    cli(server, ["key", "create", "--project", project["slug"], "--permissions", "ingest,read"])
  end

  defp cli(server, args) do
    {out, status} =
      System.cmd(
        python(),
        ["-m", "pulsekit.cli" | args] ++ ["--data-dir", server.data_dir, "--json"],
        cd: @repo_root,
        env: [{"PULSEKIT_BASE_URL", server.url}]
      )

    assert status == 0, out
    PulseKit.JSON.Codec.decode!(out)
  end

  @doc "Every stored event of the key's project, newest first."
  def events(server, key) do
    {:ok, 200, body} =
      get(server.url <> "/api/v1/events?limit=200", [
        {~c"x-pulsekit-key", String.to_charlist(key)}
      ])

    PulseKit.JSON.Codec.decode!(body)["events"]
  end

  defp get(url, headers) do
    case :httpc.request(:get, {String.to_charlist(url), headers}, [timeout: 5_000],
           body_format: :binary
         ) do
      {:ok, {{_, status, _}, _headers, body}} -> {:ok, status, body}
      other -> other
    end
  end
end
