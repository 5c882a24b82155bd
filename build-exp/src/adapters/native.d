build-exp/src/adapters/native.o: src/adapters/native.c src/adapter.h \
 src/config.h src/hashmap.h src/event.h src/util.h
src/adapter.h:
src/config.h:
src/hashmap.h:
src/event.h:
src/util.h:
