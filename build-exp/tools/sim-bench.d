build-exp/tools/sim-bench.o: tools/sim-bench.c tools/sim-bench.h \
 src/util.h
tools/sim-bench.h:
src/util.h:
