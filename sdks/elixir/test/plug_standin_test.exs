defmodule PulseKit.PlugStandInTest do
  # NOT a test with Plug: Plug cannot be installed here (no hex). In a separate VM, a stand-in
  # (an empty module named Plug and a Plug.Conn.WrapperError exception) lets
  # lib/pulsekit/plug.ex compile, so its wrapping of call/2 runs for real: report, then raise
  # again; unwrap WrapperError; skip plug_status < 500. Whether it fits real Plug/Phoenix
  # routers is not checked by anything here.
  use ExUnit.Case, async: false

  alias PulseKitTest.HTTPServer

  @plug_source Path.expand("../lib/pulsekit/plug.ex", __DIR__)

  @script ~S'''
  defmodule Plug do
  end

  defmodule Plug.Conn.WrapperError do
    defexception [:conn, :kind, :reason, :stack]
    def message(_error), do: "wrapped"
  end

  defmodule NotFound do
    defexception message: "no route", plug_status: 404
  end

  Code.compile_file(System.fetch_env!("PLUG_SOURCE"))

  defmodule Router do
    use PulseKit.Plug

    def call(%{request_path: "/missing"}, _opts), do: raise(NotFound)

    def call(%{request_path: "/wrapped"} = conn, _opts) do
      raise Plug.Conn.WrapperError,
        conn: Map.put(conn, :request_path, "/wrapped/42"),
        kind: :error,
        reason: %RuntimeError{message: "inner failure"},
        stack: [{Router, :show, 2, [file: 'lib/router.ex', line: 7]}]
    end

    def call(%{request_path: "/thrown"}, _opts), do: throw(:halt_now)
    def call(conn, _opts), do: raise(ArgumentError, "boom in #{conn.request_path}")
  end

  PulseKit.init(endpoint: System.fetch_env!("ENDPOINT"), api_key: "pk_plug", logger_handler: false)

  for path <- ["/checkout", "/missing", "/wrapped", "/thrown"] do
    conn = %{method: "POST", request_path: path, query_string: "coupon=A1"}

    try do
      Router.call(conn, [])
    rescue
      error -> IO.puts("raised again: #{inspect(error.__struct__)}")
    catch
      kind, reason -> IO.puts("raised again: #{kind} #{inspect(reason)}")
    end
  end

  IO.puts("flushed: #{PulseKit.flush(5_000)}")
  '''

  test "PulseKit.Plug's wrapper, compiled against a stand-in for Plug, reports and raises again" do
    server = HTTPServer.start()

    script =
      Path.join(
        System.tmp_dir!(),
        "pulsekit_plug_standin_#{System.unique_integer([:positive])}.exs"
      )

    File.write!(script, @script)
    ebin = :pulsekit |> :code.lib_dir() |> Path.join("ebin")
    env = [{"ENDPOINT", HTTPServer.url(server)}, {"PLUG_SOURCE", @plug_source}]

    {output, status} =
      System.cmd("elixir", ["-pa", ebin, script], env: env, stderr_to_stdout: true)

    File.rm(script)
    events = server |> HTTPServer.requests() |> Enum.flat_map(& &1.json["events"])
    HTTPServer.stop(server)

    assert status == 0, output

    assert output =~ "raised again: ArgumentError"
    assert output =~ "raised again: NotFound"
    assert output =~ "raised again: Plug.Conn.WrapperError"
    assert output =~ "raised again: throw :halt_now"
    assert output =~ "flushed: true"

    by_path = Map.new(events, &{&1["tags"]["http.path"], &1})
    assert Map.keys(by_path) |> Enum.sort() == ["/checkout", "/thrown", "/wrapped/42"]

    assert by_path["/checkout"]["exception"] == %{
             "type" => "ArgumentError",
             "value" => "boom in /checkout"
           }

    assert by_path["/checkout"]["tags"]["http.method"] == "POST"
    assert by_path["/checkout"]["metadata"]["request"]["query_string"] == "coupon=A1"
    assert by_path["/wrapped/42"]["exception"]["type"] == "RuntimeError"
    assert List.last(by_path["/wrapped/42"]["stacktrace"]["frames"])["function"] == "show"

    assert by_path["/thrown"]["exception"] == %{"type" => "throw", "value" => ":halt_now"}
  end
end
