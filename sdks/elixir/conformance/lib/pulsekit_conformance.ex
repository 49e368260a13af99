defmodule PulseKitConformance do
  @moduledoc """
  The Elixir SDK's conformance program: performs every vector's calls against a PulseKit server.

  Contract (sdks/conformance/README.md): reads PULSEKIT_ENDPOINT, PULSEKIT_API_KEY,
  PULSEKIT_VECTORS_DIR and PULSEKIT_FLUSH_TIMEOUT_S; for each vector prints one line
  `{"vector": name, "ids": [...], "flushed": bool}`; exits non-zero when a flush did not complete.
  The SDK's own tests load this module too (test/vectors_test.exs), against a local server.
  """

  @default_vectors_dir Path.expand("../../../conformance/vectors", __DIR__)

  @doc "Runs every vector and halts with 0 when every flush completed."
  def main do
    vectors_dir = System.get_env("PULSEKIT_VECTORS_DIR") || @default_vectors_dir
    {flush_s, ""} = Float.parse(System.get_env("PULSEKIT_FLUSH_TIMEOUT_S", "30"))

    overrides = [
      endpoint: System.fetch_env!("PULSEKIT_ENDPOINT"),
      api_key: System.fetch_env!("PULSEKIT_API_KEY")
    ]

    complete? =
      vectors_dir
      |> Path.join("*.json")
      |> Path.wildcard()
      |> Enum.sort()
      |> Enum.reduce(true, fn path, complete? ->
        vector = path |> File.read!() |> PulseKit.JSON.Codec.decode!()
        {ids, flushed?} = run_vector(vector, round(flush_s * 1000), overrides)

        IO.puts(
          PulseKit.JSON.encode!(%{"vector" => vector["name"], "ids" => ids, "flushed" => flushed?})
        )

        complete? and flushed?
      end)

    System.halt(if complete?, do: 0, else: 1)
  end

  @doc "Initialises the SDK for `vector`, performs its calls, flushes and closes: `{ids, flushed?}`."
  def run_vector(vector, flush_timeout_ms, overrides) do
    init =
      Enum.map(vector["input"]["init"] || %{}, fn {key, value} ->
        {String.to_existing_atom(key), value}
      end)

    # The crash reporter is not part of the vectors: only the calls below may produce events.
    :ok = PulseKit.init(init ++ overrides ++ [logger_handler: false])
    PulseKit.clear_context()

    try do
      ids = run_calls(vector["input"]["calls"], [])
      {ids, PulseKit.flush(flush_timeout_ms)}
    after
      PulseKit.close(0)
      PulseKit.clear_context()
    end
  end

  defp run_calls(calls, ids), do: Enum.reduce(calls, ids, &run_call/2)

  defp run_call(%{"call" => "scope"} = step, ids) do
    scope =
      for {key, value} <- step["args"] || %{},
          into: %{},
          do: {String.to_existing_atom(key), value}

    PulseKit.with_scope(scope, fn -> run_calls(step["calls"] || [], ids) end)
  end

  defp run_call(%{"call" => call, "args" => args}, ids) do
    case call do
      "set_tag" ->
        PulseKit.set_tag(args["key"], args["value"])
        ids

      "set_user" ->
        PulseKit.set_user(args["user"])
        ids

      "set_context" ->
        PulseKit.set_context(args["key"], args["value"])
        ids

      "capture" ->
        ids ++ [PulseKit.capture(atom_keys(args))]

      "capture_message" ->
        ids ++
          [
            PulseKit.capture_message(
              args["message"],
              args |> Map.delete("message") |> atom_keys() |> Map.to_list()
            )
          ]

      "capture_exception" ->
        opts = args |> Map.delete("error") |> atom_keys() |> Map.to_list()

        try do
          raise_error(args["error"])
        rescue
          exception ->
            ids ++ [PulseKit.capture_exception(exception, [stacktrace: __STACKTRACE__] ++ opts)]
        end

      other ->
        raise ArgumentError, "unknown call #{inspect(other)} in a vector"
    end
  end

  defp atom_keys(map),
    do: Map.new(map, fn {key, value} -> {String.to_existing_atom(key), value} end)

  @doc """
  Raises the vector's error from a function named `spec["function"]`, with an exception
  module named exactly `spec["type"]`; with a cause, that function first calls the cause's
  function, rescues its error and raises its own with `cause: {error, stacktrace}`.
  """
  def raise_error(spec) do
    function = String.to_atom(spec["function"])
    apply(raiser(function), function, [spec])
  end

  @doc "The exception module reported as `type` (e.g. `CheckoutError`), defined on first use."
  def error_module(type) do
    module = Module.concat([type])

    unless Code.ensure_loaded?(module) do
      Module.create(
        module,
        quote(do: defexception([:message, :cause])),
        Macro.Env.location(__ENV__)
      )
    end

    module
  end

  # A module whose only function has the vector's name, so the frames carry that name.
  defp raiser(function) do
    module = Module.concat(PulseKitConformance.Raisers, Macro.camelize(Atom.to_string(function)))

    unless Code.ensure_loaded?(module) do
      body =
        quote do
          def unquote(function)(spec) do
            error = PulseKitConformance.error_module(spec["type"])

            if spec["cause"] do
              try do
                PulseKitConformance.raise_error(spec["cause"])
              rescue
                cause -> raise error, message: spec["message"], cause: {cause, __STACKTRACE__}
              end
            else
              raise error, message: spec["message"]
            end
          end
        end

      Module.create(module, body, Macro.Env.location(__ENV__))
    end

    module
  end
end
