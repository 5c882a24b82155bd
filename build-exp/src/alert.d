build-exp/src/alert.o: src/alert.c src/alert.h src/config.h src/hashmap.h
src/alert.h:
src/config.h:
src/hashmap.h:
