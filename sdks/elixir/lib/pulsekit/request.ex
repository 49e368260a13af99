defmodule PulseKit.Request do
  @moduledoc """
  The request part of an event reported by `PulseKit.Plug`: tags `http.method` and
  `http.path`, and `metadata.request` (method, path, query string, the route's path
  parameters' names). It reads only plain fields of a `Plug.Conn`, so it is compiled, and
  tested, without Plug.
  """

  @doc "Event fields (`tags`, `metadata`) describing the request `conn`."
  @spec fields(map()) :: %{tags: map(), metadata: map()}
  def fields(conn) do
    method = Map.get(conn, :method) || "UNKNOWN"
    path = Map.get(conn, :request_path) || "/"
    query = Map.get(conn, :query_string) || ""
    request = %{"method" => method, "path" => path}
    request = if query == "", do: request, else: Map.put(request, "query_string", query)
    %{tags: %{"http.method" => method, "http.path" => path}, metadata: %{"request" => request}}
  end

  @doc """
  Whether an exception is worth reporting: Plug marks client errors (a missing route, a bad
  parameter) with a `plug_status` below 500, and those are the client's mistake, not a bug.
  """
  @spec report?(term()) :: boolean()
  def report?(%{plug_status: status}) when is_integer(status) and status < 500, do: false
  def report?(_exception), do: true
end
