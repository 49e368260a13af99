defmodule PulseKit.Scope do
  @moduledoc """
  Tags, user and context of the calling process, kept in its process dictionary.

  Whatever one process sets is seen only by the events that process captures (including the
  crash report of that process, which the logger handler builds inside it) and never by
  another process: an Elixir process is the unit that a request, a job or a task runs in.
  """

  @key :"$pulsekit_scope"
  @empty %{tags: %{}, user: nil, context: %{}}

  @doc "The calling process's scope: `%{tags: map, user: map | nil, context: map}`."
  @spec current() :: map()
  def current, do: Process.get(@key, @empty)

  @doc "Merges tags into the process's tags; a nil value removes that tag."
  @spec set_tags(map() | keyword()) :: :ok
  def set_tags(tags) do
    update(fn scope ->
      merged =
        Enum.reduce(tags, scope.tags, fn {key, value}, acc ->
          put_or_delete(acc, to_string(key), value)
        end)

      %{scope | tags: merged}
    end)
  end

  @doc "Sets the process's user (`id`, `email`, `username`, `ip_address`); nil clears it."
  @spec set_user(map() | keyword() | nil) :: :ok
  def set_user(nil), do: update(&%{&1 | user: nil})
  def set_user(user), do: update(&%{&1 | user: Map.new(user)})

  @doc "Sets one context entry, merged into each event's metadata under `key`; nil removes it."
  @spec set_context(atom() | String.t(), term()) :: :ok
  def set_context(key, value),
    do: update(&%{&1 | context: put_or_delete(&1.context, to_string(key), value)})

  @doc "Forgets everything the process set."
  @spec clear() :: :ok
  def clear do
    Process.delete(@key)
    :ok
  end

  @doc "Runs `fun` with extra tags/user/context, then restores the scope as it was before."
  @spec with_scope(map() | keyword(), (() -> result)) :: result when result: term()
  def with_scope(extra, fun) when is_function(fun, 0) do
    saved = Process.get(@key)
    extra = Map.new(extra)

    try do
      if extra[:tags], do: set_tags(extra[:tags])
      if extra[:user], do: set_user(extra[:user])
      Enum.each(extra[:context] || %{}, fn {key, value} -> set_context(key, value) end)
      fun.()
    after
      if saved == nil, do: Process.delete(@key), else: Process.put(@key, saved)
    end
  end

  defp update(fun) do
    Process.put(@key, fun.(current()))
    :ok
  end

  defp put_or_delete(map, key, nil), do: Map.delete(map, key)
  defp put_or_delete(map, key, value), do: Map.put(map, key, value)
end
