.PHONY: run test bench chaos images compose-test build clean

CONFIGURATION ?= Release
SEEDS ?= 1
LOOP ?= 0
SA = dotnet run --project apps/StableAlignment.Cli -c $(CONFIGURATION) --

## run: the offline miniature of the paper's experiment (local models, SANDBOX, data, SA vs SFT, evaluation);
##      make run SEEDS=3 repeats it over seeds; make run LOOP=3 runs the closed loop for 3 iterations instead
##      (each checkpoint, served over the OpenAI API, plays the next society; artifacts/loop, resumable)
run:
ifeq ($(LOOP),0)
	@$(SA) society --seeds $(SEEDS) $(ARGS)
else
	@$(SA) loop --iterations $(LOOP) --out artifacts/loop-$(LOOP) $(ARGS)
endif

## test: install and start RabbitMQ and the MongoDB emulator, run every test, print "N passed, N failed"
test:
	@infra/test.sh

## chaos: every fault of the fault-injection suite (make test runs a short form; FAULTS="restart RabbitMQ" picks); the table lands in bench/results/
chaos:
	@infra/chaos.sh

## bench: pipeline overhead benchmarks; results land in bench/results/
bench:
	@infra/bench.sh

## images: every image of the compose stack, offline, with podman or docker (infra/images/build.sh)
images:
	@infra/images/build.sh

## compose-test: the real docker-compose.yml in containers (podman), end to end through the gateway, then torn down
compose-test:
	@infra/compose-test/run.sh

build:
	dotnet build StableAlignment.sln -c $(CONFIGURATION)

clean:
	rm -rf .state artifacts
	dotnet clean StableAlignment.sln -c $(CONFIGURATION)
