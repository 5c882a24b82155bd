build-exp/src/adapters/common.o: src/adapters/common.c \
 src/adapters/common.h src/adapter.h src/config.h src/hashmap.h \
 src/event.h src/util.h
src/adapters/common.h:
src/adapter.h:
src/config.h:
src/hashmap.h:
src/event.h:
src/util.h:
