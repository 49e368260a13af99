[
  inputs: [
    "{mix,.formatter}.exs",
    "{lib,test,bench}/**/*.{ex,exs}",
    "conformance/{mix,.formatter}.exs",
    "conformance/lib/**/*.ex",
    "quickstart/*.exs",
    "examples/*/{mix,.formatter}.exs",
    "examples/*/{lib,config}/**/*.{ex,exs}"
  ]
]
