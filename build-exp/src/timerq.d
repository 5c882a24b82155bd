build-exp/src/timerq.o: src/timerq.c src/timerq.h src/util.h
src/timerq.h:
src/util.h:
