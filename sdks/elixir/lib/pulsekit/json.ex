defmodule PulseKit.JSON do
  @moduledoc """
  JSON for the SDK, chosen at run time so the SDK needs no hex package.

  In order of preference: Elixir's own `JSON` module (Elixir 1.18+), `Jason` when the host
  application has it, else `PulseKit.JSON.Codec`, the SDK's own encoder and decoder.
  `config :pulsekit, json_library: Module` forces one (it must export `encode_to_iodata!/1`
  and `decode/1`, as all three do).

  Events are reduced to plain JSON terms (`PulseKit.Event.json_safe/1`) before they are
  encoded, so every library produces the same wire JSON.
  """

  @doc "The module used to encode and decode, picked once and cached."
  @spec library() :: module()
  def library do
    case :persistent_term.get({__MODULE__, :library}, nil) do
      nil ->
        library = pick_library(Application.get_env(:pulsekit, :json_library))
        :persistent_term.put({__MODULE__, :library}, library)
        library

      library ->
        library
    end
  end

  @doc "The library that `library/0` would pick, given a configured one (or nil)."
  @spec pick_library(module() | nil) :: module()
  def pick_library(configured) when is_atom(configured) and configured != nil, do: configured

  def pick_library(_none) do
    cond do
      has_codec?(JSON) -> JSON
      has_codec?(Jason) -> Jason
      true -> PulseKit.JSON.Codec
    end
  end

  defp has_codec?(module) do
    Code.ensure_loaded?(module) and function_exported?(module, :encode_to_iodata!, 1) and
      function_exported?(module, :decode, 1)
  end

  @doc "Encodes plain JSON terms to a binary; raises on anything else."
  @spec encode!(term()) :: binary()
  def encode!(term), do: IO.iodata_to_binary(library().encode_to_iodata!(term))

  @doc "Decodes a JSON binary: `{:ok, term}` or `{:error, reason}`; objects get string keys."
  @spec decode(binary()) :: {:ok, term()} | {:error, term()}
  def decode(binary) when is_binary(binary) do
    library().decode(binary)
  rescue
    error -> {:error, error}
  end
end
