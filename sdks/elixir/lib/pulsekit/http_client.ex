defmodule PulseKit.HTTPClient do
  @moduledoc """
  The behaviour of the HTTP client that delivers batches; replace it with
  `config :pulsekit, http_client: MyClient` (e.g. to go through Finch, Req or a proxy).

  `post/4` gets the full URL, the request headers (the body is already gzip-compressed and
  `content-encoding: gzip` is among them), the body and options (`timeout_ms`, `ssl_options`).
  It returns the status, the response headers (names in lower case) and the response body,
  or `{:error, reason}` for a network failure, which is retried with backoff.
  It is called from a task under the SDK's supervisor, never from a capturing process.
  """

  @type headers :: [{String.t(), String.t()}]

  @callback post(url :: String.t(), headers(), body :: binary(), opts :: keyword()) ::
              {:ok, status :: pos_integer(), headers(), body :: binary()} | {:error, term()}
end
