build-exp/src/event.o: src/event.c src/event.h
src/event.h:
