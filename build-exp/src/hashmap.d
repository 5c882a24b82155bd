build-exp/src/hashmap.o: src/hashmap.c src/hashmap.h src/util.h
src/hashmap.h:
src/util.h:
