defmodule Shop.MixProject do
  use Mix.Project

  def project do
    [
      app: :shop,
      version: "1.0.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      # From hex it would be {:pulsekit, "~> 0.1"}.
      deps: [{:pulsekit, path: "../.."}]
    ]
  end

  def application, do: [mod: {Shop.Application, []}, extra_applications: [:logger]]
end
