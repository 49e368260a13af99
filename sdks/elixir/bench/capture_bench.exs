# Benchmark: time per capture in the calling process, and events/s delivered to a live server.
#
#   cd sdks/elixir && mix run bench/capture_bench.exs
#
# Uses PULSEKIT_DSN when set (a key with ingest and read); otherwise starts a PulseKit server
# (python -m pulsekit.cli serve, from PULSEKIT_PYTHON or the repository's .venv) on a free
# port with a temporary data folder. Bounded: BENCH_EVENTS events per run (default 20,000).

defmodule CaptureBench do
  @repo_root Path.expand("../../..", __DIR__)

  def main do
    count = String.to_integer(System.get_env("BENCH_EVENTS", "20000"))
    {dsn, key, url, stop} = server()

    try do
      IO.puts(
        "PulseKit Elixir SDK benchmark — #{count} events per run, Elixir #{System.version()}, OTP #{System.otp_release()}, #{System.schedulers_online()} schedulers"
      )

      capture_times(dsn, count)
      delivery(dsn, key, url, count, 100)
      delivery(dsn, key, url, count, 1000)
    after
      stop.()
    end
  end

  # Time per call in the calling process: building, encoding and handing the event over.
  defp capture_times(dsn, count) do
    :ok =
      PulseKit.init(
        dsn: dsn,
        max_queue_size: count + 1,
        max_queue_bytes: 1_000_000_000,
        logger_handler: false
      )

    warm_up()

    custom =
      measure(count, fn n ->
        PulseKit.capture(%{
          type: "payment.success",
          level: :info,
          message: "Order #{n} paid",
          metadata: %{amount_cents: 4999, currency: "EUR", cart: %{items: 3}},
          tags: %{provider: "stripe"}
        })
      end)

    PulseKit.flush(120_000)

    exception =
      measure(div(count, 4), fn n ->
        try do
          raise ArgumentError, "quantity #{n} must be positive"
        rescue
          e -> PulseKit.capture_exception(e, stacktrace: __STACKTRACE__)
        end
      end)

    PulseKit.flush(120_000)
    report("capture/1 (custom event)", custom)
    report("capture_exception/2 (with stacktrace)", exception)
    PulseKit.close(0)
  end

  defp warm_up, do: for(n <- 1..500, do: PulseKit.capture_message("warm-up #{n}"))

  defp measure(count, fun) do
    for n <- 1..count do
      started = System.monotonic_time(:nanosecond)
      fun.(n)
      System.monotonic_time(:nanosecond) - started
    end
    |> Enum.sort()
  end

  defp report(name, sorted) do
    median = Enum.at(sorted, div(length(sorted), 2)) / 1000
    p99 = Enum.at(sorted, div(length(sorted) * 99, 100)) / 1000

    IO.puts(
      "  #{name}: median #{Float.round(median, 1)} µs, p99 #{Float.round(p99, 1)} µs (#{length(sorted)} calls)"
    )
  end

  # Events/s from the first capture until flush/1 says the server stored them all.
  defp delivery(dsn, key, url, count, batch_size) do
    :ok =
      PulseKit.init(
        dsn: dsn,
        max_queue_size: count + 1,
        max_batch_size: batch_size,
        max_queue_bytes: 1_000_000_000,
        logger_handler: false
      )

    run = "run-#{System.unique_integer([:positive])}"
    started = System.monotonic_time(:millisecond)

    ids =
      for n <- 1..count,
          do:
            PulseKit.capture(%{type: "bench.delivery", message: "event #{n}", tags: %{run: run}})

    flushed? = PulseKit.flush(300_000)
    elapsed_ms = System.monotonic_time(:millisecond) - started
    PulseKit.close(0)
    stored = count_stored(url, key, run)
    rate = round(count * 1000 / max(elapsed_ms, 1))

    IO.puts(
      "  delivered to the server (max_batch_size #{batch_size}): #{rate} events/s (#{count} events in #{elapsed_ms} ms; flushed: #{flushed?}; all captured: #{Enum.all?(ids)}; stored: #{stored})"
    )
  end

  defp count_stored(url, key, run), do: count_pages(url, key, run, nil, 0)

  defp count_pages(url, key, run, cursor, acc) do
    query = "?limit=200&tag=run:#{run}" <> if(cursor, do: "&cursor=#{cursor}", else: "")

    {:ok, {{_, 200, _}, _, body}} =
      :httpc.request(
        :get,
        {~c"#{url}/api/v1/events#{query}", [{~c"x-pulsekit-key", String.to_charlist(key)}]},
        [],
        body_format: :binary
      )

    page = PulseKit.JSON.Codec.decode!(body)
    acc = acc + length(page["events"])
    if page["next_cursor"], do: count_pages(url, key, run, page["next_cursor"], acc), else: acc
  end

  defp server do
    case System.get_env("PULSEKIT_DSN") do
      dsn when dsn not in [nil, ""] ->
        {endpoint, key, _project} = PulseKit.Config.parse_dsn(dsn)
        {dsn, key, endpoint, fn -> :ok end}

      _ ->
        start_server()
    end
  end

  defp start_server do
    python = System.get_env("PULSEKIT_PYTHON") || Path.join(@repo_root, ".venv/bin/python")

    File.exists?(python) ||
      raise "no Python with the PulseKit server at #{python}: set PULSEKIT_PYTHON or PULSEKIT_DSN"

    data_dir =
      Path.join(System.tmp_dir!(), "pulsekit-bench-#{System.unique_integer([:positive])}")

    File.mkdir_p!(data_dir)
    {:ok, socket} = :gen_tcp.listen(0, ip: {127, 0, 0, 1})
    {:ok, port} = :inet.port(socket)
    :gen_tcp.close(socket)
    url = "http://127.0.0.1:#{port}"

    args = [
      "-m",
      "pulsekit.cli",
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "#{port}",
      "--data-dir",
      data_dir
    ]

    server =
      Port.open({:spawn_executable, python}, [
        :binary,
        :stderr_to_stdout,
        args: args,
        cd: @repo_root
      ])

    {:os_pid, os_pid} = Port.info(server, :os_pid)
    wait_healthy(url, 300)

    cli = fn args ->
      System.cmd(python, ["-m", "pulsekit.cli" | args] ++ ["--data-dir", data_dir, "--json"],
        cd: @repo_root,
        env: [{"PULSEKIT_BASE_URL", url}]
      )
    end

    {project, 0} = cli.(["project", "create", "bench"])
    slug = PulseKit.JSON.Codec.decode!(project)["slug"]
    {key_json, 0} = cli.(["key", "create", "--project", slug, "--permissions", "ingest,read"])
    key = PulseKit.JSON.Codec.decode!(key_json)

    stop = fn ->
      System.cmd("kill", ["#{os_pid}"])
      File.rm_rf(data_dir)
    end

    {key["dsn"], key["key"], url, stop}
  end

  defp wait_healthy(url, 0), do: raise("the server at #{url} did not become healthy")

  defp wait_healthy(url, tries) do
    case :httpc.request(:get, {~c"#{url}/api/v1/health", []}, [timeout: 2_000], []) do
      {:ok, {{_, 200, _}, _, _}} ->
        :ok

      _ ->
        Process.sleep(200)
        wait_healthy(url, tries - 1)
    end
  end
end

CaptureBench.main()
