defmodule PulseKit.Stacktrace do
  @moduledoc """
  Exceptions and stacktraces in the wire form.

  Frames are oldest first, the failing frame last (Elixir's stacktraces are newest first).
  Each frame has `module`, `function` (the plain name, e.g. `charge_card`: the conformance
  vectors and the server's grouping compare it exactly; an anonymous function reads
  `anonymous fn/1 in charge_card/2`), `filename`, `lineno` and `in_app`.

  Causes: Elixir has no standard "raised from"; PulseKit follows a `:cause` field of an
  exception struct, holding either an exception or `{exception, stacktrace}`, up to 10 deep
  (`defexception [:message, :cause]`, then `raise MyError, message: "…", cause: {e, __STACKTRACE__}`).
  """

  @in_app_cache :pulsekit_in_app

  @doc """
  `{exception_map, stacktrace_map}` for an exception (or any error term) and its stacktrace.
  With `kind` `:throw` or `:exit` (from `catch kind, reason`), the type is `throw`/`exit`
  and the value the reason, as Elixir prints them (`** (throw) :halt`).
  """
  @spec exception_to_wire(term(), Exception.stacktrace() | nil, [atom()], :error | :exit | :throw) ::
          {map(), map() | nil}
  def exception_to_wire(exception, stacktrace, in_app_apps, kind \\ :error)

  def exception_to_wire(reason, stacktrace, in_app_apps, kind) when kind in [:exit, :throw] do
    stacktrace = if is_list(stacktrace), do: stacktrace, else: []
    value = if kind == :exit, do: Exception.format_exit(reason), else: inspect(reason, limit: 50)
    {%{type: Atom.to_string(kind), value: value}, frames_or_nil(stacktrace, in_app_apps)}
  end

  def exception_to_wire(exception, stacktrace, in_app_apps, _error) do
    stacktrace = if is_list(stacktrace), do: stacktrace, else: []
    exception = Exception.normalize(:error, exception, stacktrace)
    wire = describe(exception)
    chain = exception |> causes([]) |> Enum.map(&chained(&1, in_app_apps))
    wire = if chain == [], do: wire, else: Map.put(wire, :chain, chain)
    {wire, frames_or_nil(stacktrace, in_app_apps)}
  end

  defp describe(exception) do
    %{type: type_name(exception), value: message(exception)}
  end

  @doc "The exception's reported name: its module without the `Elixir.` prefix."
  @spec type_name(term()) :: String.t()
  def type_name(%module{}), do: module_name(module)
  def type_name(other), do: other |> inspect() |> String.slice(0, 256)

  defp message(exception) do
    Exception.message(exception)
  rescue
    _ -> inspect(exception)
  end

  defp causes(_exception, acc) when length(acc) >= 10, do: Enum.reverse(acc)

  defp causes(%{cause: {cause, stacktrace}}, acc)
       when is_exception(cause) and is_list(stacktrace),
       do: causes(cause, [{cause, stacktrace} | acc])

  defp causes(%{cause: cause}, acc) when is_exception(cause),
    do: causes(cause, [{cause, nil} | acc])

  defp causes(_exception, acc), do: Enum.reverse(acc)

  defp chained({cause, stacktrace}, in_app_apps) do
    wire = describe(cause)
    stacktrace = frames_or_nil(stacktrace, in_app_apps)
    if stacktrace, do: Map.put(wire, :stacktrace, stacktrace), else: wire
  end

  defp frames_or_nil(stacktrace, in_app_apps) do
    case frames(stacktrace || [], in_app_apps) do
      [] -> nil
      frames -> %{frames: frames}
    end
  end

  @doc "Wire frames, oldest first, for an Elixir stacktrace (newest first)."
  @spec frames(Exception.stacktrace(), [atom()]) :: [map()]
  def frames(stacktrace, in_app_apps) do
    stacktrace
    |> Enum.flat_map(fn entry ->
      case frame(entry, in_app_apps) do
        nil -> []
        frame -> [frame]
      end
    end)
    |> Enum.reverse()
  end

  defp frame({module, function, arity_or_args, location}, in_app_apps)
       when is_atom(module) and is_atom(function) do
    %{
      module: module_name(module),
      function: function_name(function, arity(arity_or_args)),
      in_app: in_app?(module, in_app_apps)
    }
    |> put_location(location)
  end

  defp frame({fun, arity_or_args, location}, _in_app_apps) when is_function(fun) do
    %{function: "anonymous fn/#{arity(arity_or_args)}", in_app: false} |> put_location(location)
  end

  defp frame(_other, _in_app_apps), do: nil

  defp arity(args) when is_list(args), do: length(args)
  defp arity(arity) when is_integer(arity), do: arity
  defp arity(_), do: 0

  defp put_location(frame, location) when is_list(location) do
    frame
    |> then(fn frame ->
      if location[:file], do: Map.put(frame, :filename, to_string(location[:file])), else: frame
    end)
    |> then(fn frame ->
      if is_integer(location[:line]), do: Map.put(frame, :lineno, location[:line]), else: frame
    end)
  end

  defp put_location(frame, _), do: frame

  @doc false
  def module_name(module) do
    case Atom.to_string(module) do
      "Elixir." <> name -> name
      name -> name
    end
  end

  # Erlang names anonymous functions "-charge_card/1-fun-0-" and comprehension bodies
  # "-charge_card/1-lc$^0/1-0-": show the function they belong to, as Elixir's own traces do.
  defp function_name(function, arity) do
    name = Atom.to_string(function)

    case Regex.run(~r/^-(.+)\/(\d+)-(fun|lc|lbc|blc)/, name) do
      [_, outer, outer_arity | _] -> "anonymous fn/#{arity} in #{outer}/#{outer_arity}"
      _ -> name
    end
  end

  @doc """
  Whether a module is the host's own code: it belongs to one of `in_app_apps`; or, when that
  list is empty or the module has no application (a script, a module made at run time), it is
  neither OTP's, Elixir's nor PulseKit's.
  """
  @spec in_app?(module(), [atom()]) :: boolean()
  def in_app?(module, in_app_apps) do
    key = {module, in_app_apps}

    case lookup(key) do
      {:ok, answer} ->
        answer

      :miss ->
        answer = classify(module, in_app_apps)
        store(key, answer)
        answer
    end
  end

  defp classify(module, in_app_apps) do
    app =
      case :application.get_application(module) do
        {:ok, app} -> app
        :undefined -> nil
      end

    cond do
      app == :pulsekit -> false
      app != nil and in_app_apps != [] -> app in in_app_apps
      true -> not runtime_module?(module, app)
    end
  end

  defp runtime_module?(module, app) do
    roots = [to_string(:code.root_dir()), elixir_root()]

    path =
      case app && :code.lib_dir(app) do
        dir when is_list(dir) -> to_string(dir)
        _ -> to_string(:code.which(module))
      end

    path == "preloaded" or Enum.any?(roots, &(&1 != "" and String.starts_with?(path, &1)))
  end

  defp elixir_root do
    case :code.lib_dir(:elixir) do
      dir when is_list(dir) -> dir |> to_string() |> Path.dirname()
      _ -> ""
    end
  end

  # A small cache: classifying needs the code server, and a trace repeats the same modules.
  defp lookup(key) do
    case :ets.lookup(@in_app_cache, key) do
      [{^key, answer}] -> {:ok, answer}
      [] -> :miss
    end
  rescue
    ArgumentError -> :miss
  end

  defp store(key, answer) do
    :ets.insert(@in_app_cache, {key, answer})
  rescue
    ArgumentError -> :ok
  end

  @doc false
  def in_app_cache_name, do: @in_app_cache
end
