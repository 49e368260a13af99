Code.require_file("../conformance/lib/pulsekit_conformance.ex", __DIR__)

defmodule PulseKit.VectorsTest do
  # Every conformance vector, performed by the conformance program's own code, against a
  # local server: one request, the vector's method, path and headers, and its exact body.
  use ExUnit.Case, async: false

  alias PulseKitTest.{HTTPServer, WireMatch}

  @vectors_dir Path.expand("../../conformance/vectors", __DIR__)
  @vectors @vectors_dir |> Path.join("*.json") |> Path.wildcard() |> Enum.sort()

  test "the vectors are found" do
    assert length(@vectors) >= 4
  end

  for path <- @vectors do
    @path path
    test "vector #{Path.basename(path, ".json")}" do
      vector = @path |> File.read!() |> PulseKit.JSON.Codec.decode!()
      server = HTTPServer.start()

      try do
        overrides = [endpoint: HTTPServer.url(server), api_key: "pk_vectors"]
        {ids, flushed?} = PulseKitConformance.run_vector(vector, 5_000, overrides)

        assert flushed?
        assert [request] = HTTPServer.requests(server)
        expected = vector["expected_request"]
        assert {request.method, request.path} == {expected["method"], expected["path"]}

        for {name, value} <- Map.put(expected["headers"], "X-PulseKit-Key", "pk_vectors") do
          assert request.headers[String.downcase(name)] == value
        end

        assert WireMatch.missing(vector, request.json) == []
        {expected_body, actual_body} = WireMatch.comparable(vector, request.json)
        assert actual_body == expected_body
        assert Enum.map(request.json["events"], & &1["id"]) == ids
      after
        HTTPServer.stop(server)
      end
    end
  end
end
