import Config

# Everything else is read at run time, in config/runtime.exs.
config :logger, :console, format: "$time [$level] $message\n"
