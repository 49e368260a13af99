defmodule PulseKitConformance.MixProject do
  use Mix.Project

  # The conformance program (sdks/conformance/README.md): `mix run -e PulseKitConformance.main()`.
  def project do
    [
      app: :pulsekit_conformance,
      version: "0.1.0",
      elixir: "~> 1.14",
      deps: [{:pulsekit, path: ".."}]
    ]
  end

  def application, do: [extra_applications: [:logger]]
end
