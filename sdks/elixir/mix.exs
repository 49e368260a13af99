defmodule PulseKit.MixProject do
  use Mix.Project

  @version "0.1.0"
  @source_url "https://github.com/pulsekit/pulsekit/tree/main/sdks/elixir"

  def project do
    [
      app: :pulsekit,
      version: @version,
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      elixirc_paths: elixirc_paths(Mix.env()),
      # Zero hex dependencies on purpose: the SDK must build where hex cannot be reached.
      deps: [],
      description:
        "Send errors, crashes and custom events from Elixir apps to a PulseKit server.",
      package: package(),
      docs: docs(),
      name: "PulseKit",
      source_url: @source_url
    ]
  end

  def application do
    [
      mod: {PulseKit.Application, []},
      extra_applications: [:logger, :inets, :ssl, :public_key, :crypto]
    ]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]

  defp package do
    [
      name: "pulsekit",
      licenses: ["MIT"],
      links: %{"Source" => @source_url},
      files: ~w(lib mix.exs README.md .formatter.exs)
    ]
  end

  defp docs do
    [main: "readme", extras: ["README.md"], source_ref: "v#{@version}"]
  end
end
