defmodule PulseKit.HTTPClient.Httpc do
  @moduledoc """
  The default HTTP client: OTP's `:httpc`, in its own profile (`:pulsekit`) so its settings
  never touch the host application's `:httpc` use.

  https verifies the server's certificate against the operating system's CA store
  (`:public_key.cacerts_get/0`, OTP 25+), checks the host name, and sends SNI. Add a private
  CA with `ssl_options: [cacertfile: "/path/ca.pem"]`. Redirects are not followed, and no
  proxy is taken from the environment.
  """

  @behaviour PulseKit.HTTPClient
  @profile :pulsekit
  # Error bodies are read only for the log line; batches answer with small JSON.
  @doc false
  def profile, do: @profile

  @impl true
  def post(url, headers, body, opts) do
    timeout_ms = Keyword.get(opts, :timeout_ms, 10_000)
    {content_type, headers} = pop_content_type(headers)

    request =
      {String.to_charlist(url), Enum.map(headers, &header_to_charlists/1), content_type, body}

    http_options = [
      timeout: timeout_ms,
      connect_timeout: timeout_ms,
      autoredirect: false,
      ssl: ssl_options(url, Keyword.get(opts, :ssl_options, []))
    ]

    case :httpc.request(:post, request, http_options, [body_format: :binary], @profile) do
      {:ok, {{_version, status, _reason}, response_headers, response_body}} ->
        {:ok, status, Enum.map(response_headers, &header_to_strings/1), response_body}

      {:error, reason} ->
        {:error, reason}
    end
  end

  defp pop_content_type(headers) do
    {types, others} =
      Enum.split_with(headers, fn {name, _} -> String.downcase(name) == "content-type" end)

    content_type =
      case types,
        do:
          (
            [{_, value} | _] -> value
            [] -> "application/json"
          )

    {String.to_charlist(content_type), others}
  end

  defp header_to_charlists({name, value}),
    do: {String.to_charlist(name), String.to_charlist(value)}

  defp header_to_strings({name, value}),
    do: {name |> to_string() |> String.downcase(), to_string(value)}

  @doc "The `:ssl` options for an https URL: peer verification, host name check, SNI."
  @spec ssl_options(String.t(), keyword()) :: keyword()
  def ssl_options(url, extra) do
    host = URI.parse(url).host || ""

    base = [
      verify: :verify_peer,
      depth: 4,
      server_name_indication: String.to_charlist(host),
      customize_hostname_check: [match_fun: :public_key.pkix_verify_hostname_match_fun(:https)]
    ]

    base =
      if Keyword.has_key?(extra, :cacertfile) or Keyword.has_key?(extra, :cacerts),
        do: base,
        else: base ++ ca_store()

    Keyword.merge(base, extra)
  end

  defp ca_store do
    if function_exported?(:public_key, :cacerts_get, 0) do
      [cacerts: :public_key.cacerts_get()]
    else
      # OTP before 25: Debian's and most distributions' bundle.
      [cacertfile: ~c"/etc/ssl/certs/ca-certificates.crt"]
    end
  rescue
    # cacerts_get raises when the OS has no CA store: then nothing verifies, which fails closed.
    _ -> []
  end
end
