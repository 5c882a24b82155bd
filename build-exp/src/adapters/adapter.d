build-exp/src/adapters/adapter.o: src/adapters/adapter.c src/adapter.h \
 src/config.h src/hashmap.h src/event.h
src/adapter.h:
src/config.h:
src/hashmap.h:
src/event.h:
