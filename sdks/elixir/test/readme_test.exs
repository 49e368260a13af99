defmodule PulseKit.ReadmeTest do
  use ExUnit.Case, async: true

  @sdk_dir Path.expand("..", __DIR__)

  test "the README's quickstart is quickstart/quickstart.exs, verbatim" do
    readme = File.read!(Path.join(@sdk_dir, "README.md"))
    quickstart = File.read!(Path.join(@sdk_dir, "quickstart/quickstart.exs"))

    assert String.contains?(readme, "```elixir\n" <> quickstart <> "```")
  end

  test "the README's options table lists every option the SDK accepts" do
    readme = File.read!(Path.join(@sdk_dir, "README.md"))
    options = %PulseKit.Config{} |> Map.from_struct() |> Map.keys()

    for option <- [:dsn, :json_library, :enabled | options] do
      assert readme =~ "| `#{option}` |", "#{option} is missing from the README's options table"
    end
  end
end
