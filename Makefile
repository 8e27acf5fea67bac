.PHONY: run test bench build clean

CONFIGURATION ?= Release
SA = dotnet run --project services/Cli -c $(CONFIGURATION) --

## run: the main job end to end in one process (in-memory bus, embedded store)
run:
	@$(SA) run $(ARGS)

## test: install and start RabbitMQ and the MongoDB emulator, run every test, print "N passed, N failed"
test:
	@infra/test.sh

## bench: pipeline overhead benchmarks; results land in bench/results/
bench:
	@infra/bench.sh

build:
	dotnet build StableAlignment.sln -c $(CONFIGURATION)

clean:
	rm -rf .state artifacts
	dotnet clean StableAlignment.sln -c $(CONFIGURATION)
