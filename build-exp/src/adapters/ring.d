build-exp/src/adapters/ring.o: src/adapters/ring.c src/adapters/common.h \
 src/adapter.h src/config.h src/hashmap.h src/event.h src/util.h
src/adapters/common.h:
src/adapter.h:
src/config.h:
src/hashmap.h:
src/event.h:
src/util.h:
