build-exp/src/http_client.o: src/http_client.c src/http_client.h \
 src/log.h src/util.h
src/http_client.h:
src/log.h:
src/util.h:
