build-exp/tools/doorwatch-sim.o: tools/doorwatch-sim.c tools/sim-bench.h \
 src/util.h
tools/sim-bench.h:
src/util.h:
