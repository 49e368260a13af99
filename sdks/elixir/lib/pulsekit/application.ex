defmodule PulseKit.Application do
  @moduledoc false
  # Configuration comes from `config :pulsekit, …` or the PULSEKIT_* environment variables;
  # with neither, the SDK stays off (handy in dev and test) until PulseKit.init/1 is called.

  use Application

  alias PulseKit.{Config, LoggerHandler}

  @impl true
  def start(_type, _args) do
    {:ok, _} = start_httpc_profile()
    opts = Application.get_all_env(:pulsekit)
    # Invalid configuration fails here, at start-up, with the option's name.
    config =
      if Keyword.get(opts, :enabled, true) and Config.configured?(opts), do: Config.build!(opts)

    result = PulseKit.Supervisor.start_link(config)
    if config && config.logger_handler, do: LoggerHandler.install(config.capture_log_level)
    result
  end

  @impl true
  def prep_stop(state) do
    LoggerHandler.uninstall()
    state
  end

  @impl true
  def stop(_state) do
    PulseKit.Sender.clear_runtime()
    :ok
  end

  defp start_httpc_profile do
    case :inets.start(:httpc, profile: PulseKit.HTTPClient.Httpc.profile()) do
      {:ok, pid} -> {:ok, pid}
      {:error, {:already_started, pid}} -> {:ok, pid}
    end
  end
end
