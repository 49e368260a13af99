defmodule PulseKit.Transport do
  @moduledoc """
  One delivery attempt of a batch, and what the sender should do next.

  Retrying, backoff and counting live in `PulseKit.Sender`; this module builds the request,
  calls the configured `PulseKit.HTTPClient` and classifies the answer per docs/protocol.md.
  """

  @batch_path "/api/v1/events/batch"
  @max_retry_after_ms 60_000

  @type outcome ::
          :ok
          | {:retry, retry_after_ms :: non_neg_integer() | nil, reason :: String.t()}
          | {:unauthorized, status :: 401 | 403, reason :: String.t()}
          | {:rejected, status :: pos_integer(), reason :: String.t()}

  @doc "The request body for encoded events: `{\"events\": [...]}`, gzip-compressed."
  @spec body([binary()]) :: binary()
  def body(encoded_events),
    do: :zlib.gzip(["{\"events\":[", Enum.intersperse(encoded_events, ","), "]}"])

  @doc "Sends one batch (a list of encoded events) and classifies the answer."
  @spec deliver(PulseKit.Config.t(), [binary()]) :: outcome()
  def deliver(config, encoded_events) do
    headers = [
      {"content-type", "application/json"},
      {"content-encoding", "gzip"},
      {"x-pulsekit-key", config.api_key},
      {"user-agent", "pulsekit-elixir/#{version()}"}
    ]

    options = [timeout_ms: config.timeout_ms, ssl_options: config.ssl_options]

    case config.http_client.post(
           config.endpoint <> @batch_path,
           headers,
           body(encoded_events),
           options
         ) do
      {:ok, status, _headers, _body} when status in 200..299 ->
        :ok

      {:ok, status, headers, _body} when status in [429, 503] ->
        {:retry, parse_retry_after(header(headers, "retry-after")), "server busy (#{status})"}

      {:ok, status, _headers, body} when status in [401, 403] ->
        {:unauthorized, status, "the server refused the key (#{status}): #{error_text(body)}"}

      {:ok, status, _headers, body} when status >= 500 ->
        {:retry, nil, "server error (#{status}): #{error_text(body)}"}

      {:ok, status, _headers, body} ->
        {:rejected, status, "the server refused the batch (#{status}): #{error_text(body)}"}

      {:error, reason} ->
        {:retry, nil, "network error: #{inspect(reason)}"}
    end
  end

  defp header(headers, name) do
    Enum.find_value(headers, fn {key, value} -> if String.downcase(key) == name, do: value end)
  end

  @doc "Milliseconds to wait from a Retry-After header (seconds or an HTTP date), at most 60 s."
  @spec parse_retry_after(String.t() | nil, DateTime.t()) :: non_neg_integer() | nil
  def parse_retry_after(value, now \\ DateTime.utc_now())
  def parse_retry_after(nil, _now), do: nil

  def parse_retry_after(value, now) do
    value = String.trim(value)

    milliseconds =
      case Float.parse(value) do
        {seconds, ""} -> round(seconds * 1000)
        _ -> http_date_ms(value, now)
      end

    if milliseconds, do: milliseconds |> max(0) |> min(@max_retry_after_ms)
  end

  @months ~w(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)

  # IMF-fixdate, the only form servers may send: "Wed, 02 Dec 2026 07:00:00 GMT".
  defp http_date_ms(value, now) do
    with [_, day, month, year, hour, minute, second] <-
           Regex.run(~r/^\w{3}, (\d{2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/, value),
         index when is_integer(index) <- Enum.find_index(@months, &(&1 == month)),
         [day, year, hour, minute, second] =
           Enum.map([day, year, hour, minute, second], &String.to_integer/1),
         {:ok, date} <- Date.new(year, index + 1, day),
         {:ok, time} <- Time.new(hour, minute, second),
         {:ok, when_at} <- DateTime.new(date, time) do
      DateTime.diff(when_at, now, :millisecond)
    else
      _ -> nil
    end
  end

  defp error_text(body) do
    case PulseKit.JSON.decode(body) do
      {:ok, %{"error" => %{} = error}} ->
        field = if error["field"], do: " (field #{error["field"]})", else: ""
        "#{error["code"]}: #{error["message"]}#{field}"

      _ ->
        body |> to_string() |> String.slice(0, 300)
    end
  end

  defp version, do: Application.spec(:pulsekit, :vsn) || "0"
end
